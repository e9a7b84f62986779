"""The bundled sample estate's files (Parquet and manifest), installed as churnplan.sample_data.

`churnplan samples --regenerate` rewrites them; churnplan.ingest.sample_estate finds them through
importlib.resources, so a checkout and an installed wheel read the same files."""
