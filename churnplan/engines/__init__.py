"""Planning engines: what reads the samples and runs the per-disk, per-VM and per-server stages.

`duckdb` (the default, churnplan.engines.store) reads a DuckDB store on this machine in bounded memory;
`spark` reads the Parquet sample layout (`export samples --parquet`, `collect --spool`) on a Spark cluster.
Both hand the same stages of churnplan.analytics the same values, so both give the same plan.
"""

ENGINES = ("duckdb", "spark")
