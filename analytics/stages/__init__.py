"""build_plan's stages, one module each, in pipeline order: profiles, targets (compatibility and target disks),
assignment (process servers), scope churn, bandwidth table, simulation, cache, seeding (initial replication and
cost), summary. Each takes and returns typed frozen values; the per-scope functions (scope_bandwidth,
simulate_scope, size_server_cache) need only one scope's VM columns, so an engine may run them per server."""
