"""Syncs (Polytomic): partitioned copies from S3 to S3 or to a catalog table, no Dagster here.

One module per kind — `bulk` (every stream of a source connection, per stream and day) and `model`
(a model from one object or an archive, per day) — and `publish`, the atomic replacement of a
partition's output (generations and a manifest) that both use. The Dagster jobs of each kind are in
`s3_pipelines.dagster_defs.sync_jobs`.
"""
