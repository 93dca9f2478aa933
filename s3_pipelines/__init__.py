"""s3_pipelines: S3 ingestion declared in one YAML file, run by Dagster.

The core modules (config, connections, selection, readers, ledger, staging, ingest) know nothing
of Dagster; `s3_pipelines.dagster_defs` turns a validated config into `Definitions`.
"""

__version__ = "0.1.0"
