"""pandas DataFrames of what the pipelines made, for a notebook or a script: the catalog's entities of
a blueprint, a table of the `tables` section, a stream's staged records. Each reads through the
engine's own functions (the catalog export, the table's target, the ledger and the staging store),
writes nothing and needs no Dagster.

    from s3_pipelines import frames
    frames.entities("pipelines.yaml", "slackChannel")
    frames.table("pipelines.yaml", "sessions_by_city")
    frames.records("pipelines.yaml", "orders", partition="2026-11-21")

`config` is a path to `pipelines.yaml` (None: $S3_PIPELINES_CONFIG, then ./pipelines.yaml) or an
already loaded `PipelinesConfig`.
"""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa

from .catalog.commands import _not_created, catalog_target_name
from .catalog.entities import entity_config
from .catalog.export import EXPORT_FIELDS, export_entities
from .config.loader import load_config
from .config.models import PipelinesConfig
from .connections.s3 import S3Client
from .ledger import Ledger
from .readers.records import RECORD_COLUMN
from .staging import StagingStore
from .tables import resolve_target
from .targets import open_target, qident

Config = str | os.PathLike | PipelinesConfig | None


def entities(config: Config, blueprint: str, target: str | None = None) -> pd.DataFrame:
    """One row per entity of `blueprint` (columns blueprint, identifier, title, icon, team,
    properties, relations; properties and relations as dicts), ordered by identifier."""
    cfg = _config(config)
    entity_config(cfg).blueprint(blueprint)  # a clear error for a misspelt name
    name = catalog_target_name(cfg, target, blueprint)
    rows = [] if _not_created(cfg, name) else export_entities(open_target(cfg, name), blueprint)
    return pd.DataFrame(rows, columns=list(EXPORT_FIELDS))


def table(config: Config, name: str) -> pd.DataFrame:
    """The rows of table `name` in its target (empty, without columns, before its first load)."""
    cfg = _config(config)
    if name not in cfg.tables:
        raise ValueError(f"no table named {name!r} (tables: {', '.join(cfg.tables) or 'none'})")
    spec = cfg.tables[name]
    target_name = resolve_target(name, spec, cfg.connections)
    if _not_created(cfg, target_name):
        return pd.DataFrame()
    physical = spec.table_name or name
    with open_target(cfg, target_name).transaction() as tx:
        if tx.table_columns(physical) is None:
            return pd.DataFrame()
        return tx.query_arrow(f"SELECT * FROM {qident(physical)}").to_pandas()


def records(config: Config, stream: str, partition: str | None = None, record_text: bool = False) -> pd.DataFrame:
    """The staged records of a stream's loaded objects (one partition, or all), with their
    provenance columns; `record_text` keeps `_s3_record`, each record's JSON text as written."""
    cfg = _config(config)
    if stream not in cfg.streams:
        raise ValueError(f"no stream named {stream!r} (streams: {', '.join(cfg.streams) or 'none'})")
    if cfg.state_database() is None and not cfg.ledger_path().exists():
        return pd.DataFrame()  # nothing loaded yet; reading creates no ledger
    staging = _staging(cfg)
    batches = [b for row in Ledger.from_config(cfg).rows(stream, partition, status="loaded") if row.staged
               for b in staging.read_batches(row.staged) if b.num_rows]
    if not batches:
        return pd.DataFrame()
    tables = [pa.Table.from_batches([b]) for b in batches]
    out = pa.concat_tables(tables, promote_options="permissive")
    if not record_text and RECORD_COLUMN in out.column_names:
        out = out.drop_columns([RECORD_COLUMN])
    return out.to_pandas()


def _config(config: Config) -> PipelinesConfig:
    return config if isinstance(config, PipelinesConfig) else load_config(config)


def _staging(cfg: PipelinesConfig) -> StagingStore:
    staging = cfg.state.staging
    if staging.connection:
        return StagingStore(None, s3_client=S3Client(cfg.s3_connection(staging.connection)), prefix=staging.prefix)
    return StagingStore(cfg.resolve(staging.path))
