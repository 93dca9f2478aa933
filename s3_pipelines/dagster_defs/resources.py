"""Dagster resources: one per connection, plus the pipeline state (ledger and staging).

Secrets reach resources as `EnvVar`s, so the UI and run config show variable names, never values.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ..config.models import S3ConnectionConfig
from ..connections.s3 import S3Client
from ..ledger import Ledger
from ..staging import StagingStore


class S3ConnectionResource(dg.ConfigurableResource):
    """An S3 (or S3-compatible) bucket, optionally narrowed to a prefix."""

    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    auth_mode: str = "default"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    iam_role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str = "s3-pipelines"
    role_duration_seconds: int = 3600
    max_attempts: int = 8
    addressing_style: str = "auto"

    @classmethod
    def from_connection(cls, conn: S3ConnectionConfig) -> "S3ConnectionResource":
        a = conn.auth

        def env(ref):
            return dg.EnvVar(ref.env) if ref is not None else None

        return cls(
            bucket=conn.bucket, prefix=conn.prefix, region=conn.region, endpoint_url=conn.endpoint_url,
            auth_mode=a.mode, aws_access_key_id=env(a.aws_access_key_id),
            aws_secret_access_key=env(a.aws_secret_access_key), aws_session_token=env(a.aws_session_token),
            iam_role_arn=a.iam_role_arn, external_id=env(a.external_id),
            role_session_name=a.role_session_name, role_duration_seconds=a.role_duration_seconds,
            max_attempts=conn.max_attempts, addressing_style=conn.addressing_style,
        )

    def connection_config(self) -> S3ConnectionConfig:
        def secret(v):
            return {"value": v} if v else None

        return S3ConnectionConfig.model_validate({
            "type": "s3", "bucket": self.bucket, "prefix": self.prefix, "region": self.region,
            "endpoint_url": self.endpoint_url, "max_attempts": self.max_attempts,
            "addressing_style": self.addressing_style,
            "auth": {
                "mode": self.auth_mode, "aws_access_key_id": secret(self.aws_access_key_id),
                "aws_secret_access_key": secret(self.aws_secret_access_key),
                "aws_session_token": secret(self.aws_session_token), "iam_role_arn": self.iam_role_arn,
                "external_id": secret(self.external_id), "role_session_name": self.role_session_name,
                "role_duration_seconds": self.role_duration_seconds,
            },
        })

    def get_client(self) -> S3Client:
        return S3Client.from_config(self.connection_config())


class SqlTargetResource(dg.ConfigurableResource):
    """A DuckDB file or a PostgreSQL server that catalogs and tables are written to."""

    type: str  # duckdb | postgres
    path: str | None = None  # duckdb: absolute file path
    url: str | None = None  # postgres: an EnvVar when it holds a password
    schema_name: str = "public"
    name: str = "catalog"

    @classmethod
    def from_connection(cls, name: str, conn, cfg) -> "SqlTargetResource":
        if conn.type == "duckdb":
            return cls(type="duckdb", path=str(cfg.resolve(conn.path)), name=name)
        url = conn.url if isinstance(conn.url, str) else dg.EnvVar(conn.url.env)
        return cls(type="postgres", url=url, schema_name=conn.schema_name, name=name)

    def get_target(self):
        if self.type == "duckdb":
            from ..targets.duckdb_target import DuckDBTarget

            return DuckDBTarget(self.path, name=self.name)
        from ..targets.postgres_target import PostgresTarget

        return PostgresTarget(self.url, self.schema_name, name=self.name)


class PipelineStateResource(dg.ConfigurableResource):
    """Where the engine keeps its state: the ledger file and the staging area."""

    ledger_path: str
    staging_path: str | None = None
    staging_connection: str | None = None  # name of an S3 connection resource
    staging_prefix: str = "staging/"

    def ledger(self) -> Ledger:
        return Ledger(self.ledger_path)

    def staging(self, resources) -> StagingStore:
        if self.staging_connection:
            client = getattr(resources, self.staging_connection).get_client()
            return StagingStore(Path(self.ledger_path).parent / "staging-tmp", s3_client=client, prefix=self.staging_prefix)
        return StagingStore(self.staging_path)
