"""Dagster resources: one per connection, plus the pipeline state (ledger and staging).

Secrets reach resources as `EnvVar`s, so the UI and run config show variable names, never values.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import BaseModel

from ..config.models import S3ConnectionConfig
from ..config.secrets import SecretRef
from ..connections.s3 import S3Client
from ..ledger import Ledger
from ..staging import StagingStore
from ..targets import TARGETS


class S3ConnectionResource(dg.ConfigurableResource):
    """An S3 (or S3-compatible) bucket, optionally narrowed to a prefix: the connection's validated
    settings as the config file gave them, and its secrets as `EnvVar`s by their place in the
    config (`auth.aws_secret_access_key`). The client is built from the config model again, so
    every option and every check of the config applies here too."""

    settings: dict[str, Any]
    secrets: dict[str, str] = {}

    @classmethod
    def from_connection(cls, conn: S3ConnectionConfig) -> "S3ConnectionResource":
        refs = dict(_secret_refs(conn))
        settings = conn.model_dump(mode="json", exclude_none=True)
        for path in refs:
            *parents, leaf = path.split(".")
            _dig(settings, parents).pop(leaf, None)
        return cls(settings=settings, secrets={path: dg.EnvVar(ref.env) for path, ref in refs.items()})

    def connection_config(self) -> S3ConnectionConfig:
        data = copy.deepcopy(self.settings)
        for path, value in self.secrets.items():
            *parents, leaf = path.split(".")
            _dig(data, parents)[leaf] = {"value": value}
        return S3ConnectionConfig.model_validate(data)

    def get_client(self) -> S3Client:
        return S3Client.from_config(self.connection_config())


def _secret_refs(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, SecretRef]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretRef):
            yield prefix + name, value
        elif isinstance(value, BaseModel):
            yield from _secret_refs(value, f"{prefix}{name}.")


def _dig(data: dict, path: list[str]) -> dict:
    for p in path:
        data = data.setdefault(p, {})
    return data


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
    """Where the engine keeps its state: the ledger (a SQLite file, or the state database's URL —
    an `EnvVar` when it comes from the environment) and the staging area (a folder, or a prefix of
    an S3 connection given as that connection's resource)."""

    ledger_path: str | None = None
    database_url: str | None = None
    database_schema: str = "s3_pipelines"
    staging_path: str | None = None
    staging_s3: S3ConnectionResource | None = None
    staging_prefix: str = "staging/"

    def ledger(self) -> Ledger:
        if self.database_url:
            return Ledger(self.database_url, schema=self.database_schema)
        return Ledger(self.ledger_path)

    def staging(self) -> StagingStore:
        if self.staging_s3 is not None:  # files are built in temp folders, removed once uploaded
            return StagingStore(None, s3_client=self.staging_s3.get_client(), prefix=self.staging_prefix)
        return StagingStore(self.staging_path)


def state_location(cfg) -> dict:
    """PipelineStateResource's fields for where a config keeps its ledger: the state database (its
    URL as an `EnvVar` when it comes from the environment, so no run config shows it) or the file."""
    db = cfg.state_database()
    if db is None:
        return {"ledger_path": str(cfg.ledger_path())}
    url = db if isinstance(db, str) else (dg.EnvVar(db.env) if db.env else db.resolve())
    return {"database_url": url, "database_schema": cfg.state.schema_name}


def writer_pool(name: str, conn) -> str | None:
    """The Dagster pool of the assets writing a SQL connection: a target that takes one writing
    process at a time (a DuckDB file) is a pool of its own, `<type>_<connection>`, and dagster.yaml
    gives every pool one slot; a server needs none."""
    return f"{conn.type}_{name}" if TARGETS[conn.type].single_writer else None
