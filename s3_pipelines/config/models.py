"""The `pipelines.yaml` file as pydantic models: the contract of SPEC §1. Shapes only: references
between sections, jq, SQL and Port's files are checked after parsing, by `s3_pipelines.check`.

Paths in the file are relative to the file's own folder; `PipelinesConfig.resolve` makes them
absolute, so every process (CLI, code server, run worker) agrees on where state lives.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from .base import Model, check_unique
from .connections import (
    CONNECTION_TYPES,
    ConnectionConfig,
    DuckDBConnectionConfig,
    PostgresConnectionConfig,
    S3Auth,
    S3ConnectionConfig,
)
from .port import BlueprintConfig, MappingConfig
from .secrets import SecretRef
from .snapshots import SnapshotConfig
from .sinks import DestinationConfig, SyncConfig
from .tables import TableConfig, implicit_stream_data, source_stream_name

__all__ = ["CONNECTION_TYPES", "ColumnSpec", "ConnectionConfig", "CsvOptions", "DataSourceConfig",
           "DuckDBConnectionConfig", "Listing",
           "Partitioning", "PipelinesConfig", "PostgresConnectionConfig", "Retries", "S3Auth", "S3ConnectionConfig", "Select",
           "StagingConfig", "StateConfig", "StreamConfig", "json_schema"]


# --- streams ---------------------------------------------------------------------------------


class Select(Model):
    """Exactly one object descriptor. Keys, prefixes and patterns are relative to the connection
    prefix; `uris` are absolute (`s3://bucket/key`) and must lie inside the connection."""

    uris: list[str] | None = None
    prefixes: list[str] | None = None
    objects: list[str] | None = None
    pattern: str | None = Field(None, description="glob over keys: * and ? within a segment, ** across")
    datasource: str | None = Field(None, description="a registered data source (`datasources:` or the CLI): its prefix")
    _datasource_prefix: str | None = PrivateAttr(None)  # set when the data source is resolved

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [n for n in ("uris", "prefixes", "objects", "pattern", "datasource") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uris, prefixes, objects, pattern, datasource")
        for name in ("uris", "prefixes", "objects"):
            vals = getattr(self, name)
            if vals is not None and not vals:
                raise ValueError(f"{name} must not be empty")
        for key in (self.objects or []) + (self.prefixes or []) + ([self.pattern] if self.pattern else []):
            if ".." in key.split("/"):
                raise ValueError(f"{key!r}: '..' is not allowed in keys, prefixes or patterns")
        for uri in self.uris or []:
            if not uri.startswith("s3://") or "/" not in uri[5:]:
                raise ValueError(f"{uri!r} is not an s3://bucket/key uri")
        return self

    def resolve_datasource(self, prefix: str) -> None:
        """The data source's prefix (relative to the connection prefix), from the registry."""
        self._datasource_prefix = prefix

    def listed_prefixes(self) -> list[str] | None:
        """The prefixes to list: `prefixes`, or the resolved data source's prefix."""
        if self.datasource is None:
            return self.prefixes
        if self._datasource_prefix is None:
            raise ValueError(f"data source {self.datasource!r} is not resolved (s3_pipelines.datasources.resolve_streams)")
        return [self._datasource_prefix]


class CsvOptions(Model):
    has_headers: bool = True
    skip_lines: int = Field(0, ge=0, description="lines to skip before the header (or first row)")
    delimiter: str = Field(",", min_length=1, max_length=1)
    quote_char: str = Field('"', min_length=1, max_length=1)
    column_names: list[str] | None = Field(None, description="names when has_headers is false")


ColumnType = Literal["string", "long", "double", "boolean", "timestamp", "date", "json"]


class ColumnSpec(Model):
    name: str = Field(min_length=1)
    type: ColumnType


class Listing(Model):
    mode: Literal["start_after", "watermark"] = Field(
        "watermark",
        description="start_after: keys sort by arrival time (Airbyte, Pipedream layouts), a tick lists "
        "only keys after the last one seen; watermark: any layout, ticks sweep the prefix a few pages "
        "at a time and pick objects newer than the last-modified watermark minus the overlap",
    )
    overlap_seconds: int = Field(900, ge=0)
    max_pages_per_tick: int = Field(20, ge=1, le=1000)


class Partitioning(Model):
    granularity: Literal["hour", "day"] = "day"
    start: dt.date | dt.datetime | None = Field(
        None, description="first partition (UTC): a date, or a date and hour for hourly streams; older objects "
        "fall into it. Absent: the first arrival the load ledger knows of (the stream's earliest partition), "
        "or the current day / hour while the ledger knows none (s3_pipelines.partition_starts)")
    # set by s3_pipelines.partition_starts when the ledger knew no arrival: `start` is then only the day
    # (hour) the definitions were built, and older objects go to the window they are registered in
    _provisional: bool = PrivateAttr(False)


class Retries(Model):
    """Backoff of the sensor's retries of an unreadable object (runs launched by hand and the `run`
    command retry failed objects at once)."""
    initial_delay_seconds: int = Field(60, ge=1, description="wait before the first retry; it doubles after each failed one")
    max_delay_seconds: int = Field(3600, ge=1, description="the longest wait between two retries")
    max_attempts: int = Field(5, ge=1, description="reads of an object after which the sensor stops retrying it")


class StreamConfig(Model):
    connection: str
    description: str | None = None
    select: Select
    format: str = Field("auto", description="a format of the readers' registry (csv, jsonl, json, parquet, ...) "
                        "or auto (from the key's extension, then the content); checked by s3_pipelines.check")
    compression: str = Field("auto", description="auto (magic bytes), a codec of the readers' registry (gzip, "
                             "zstd, ...) or none; checked by s3_pipelines.check")
    csv: CsvOptions = Field(default_factory=CsvOptions)
    envelope: Literal["none", "airbyte"] = "none"
    schema_: list[ColumnSpec] | None = Field(None, alias="schema")
    on_error: Literal["skip_record", "skip_file", "fail"] = "skip_record"
    max_errors: int = Field(1000, ge=0)
    retry: Retries = Field(default_factory=Retries, description="when the sensor retries objects that could "
                           "not be read (on_error skip_record or fail)")
    max_decompressed_bytes: int = Field(50 * 2**30, ge=1, description="stop an object (gzip bomb) past this")
    max_line_bytes: int = Field(64 * 2**20, ge=8 * 2**20, description="a longer JSON Lines line is a bad "
                                "record, read past in bounded memory (at least the 8 MiB parse chunk)")
    listing: Listing = Field(default_factory=Listing)
    partitioning: Partitioning = Field(default_factory=Partitioning)
    sensor: bool = Field(True, description="create a sensor watching the selection")
    sensor_interval_seconds: int = Field(30, ge=5)
    owners: list[str] = Field(default_factory=list, description="owners of the stream's assets in Dagster: "
                              "emails or team:NAME (also on the entities and tables built from it)")
    tags: dict[str, str] = Field(default_factory=dict, description="tags of the stream's assets in Dagster")
    snapshot: SnapshotConfig | None = Field(None, description="objects are full snapshots of one table")
    on_remove: Literal["keep", "delete_rows"] = Field(
        "keep", description="an object removed from S3: keep what it loaded, or delete its entities / rows")

    @field_validator("schema_")
    @classmethod
    def _unique_columns(cls, v):
        check_unique((c.name for c in v or []), "column names")
        return v


# --- data sources (Immuta-style registry) -----------------------------------------------------


class DataSourceConfig(Model):
    """A named prefix of an S3 connection, registered in the state database like one created with
    `s3-pipelines datasources create`."""

    connection: str
    prefix: str = Field(min_length=1, description="relative to the connection prefix")
    description: str | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.lstrip("/")
        if not v or ".." in v.split("/"):
            raise ValueError("prefix must be non-empty and must not contain '..'")
        return v


# --- where state lives -----------------------------------------------------------------------


class StagingConfig(Model):
    """Parquet files of parsed records: a local folder, or an S3 prefix when steps run on several
    machines."""

    path: str | None = ".s3_pipelines/staging"
    connection: str | None = None
    prefix: str = "staging/"

    @model_validator(mode="after")
    def _one_place(self):
        if self.connection:
            self.path = None
        return self


class StateConfig(Model):
    database: str | SecretRef | None = Field(
        None, description="where the ledger, claims, cursors and registry live: null for the embedded SQLite "
        "file (ledger_path); {env: VARIABLE} holding a postgresql:// URL; or the name of a postgres connection")
    schema_name: str = Field("s3_pipelines", alias="schema", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
                             description="PostgreSQL schema of the state tables (created when missing)")
    ledger_path: str | None = Field(None, description="SQLite ledger; default beside the catalog")

    @field_validator("database")
    @classmethod
    def _no_password_in_file(cls, v):
        if isinstance(v, str) and "://" in v and "@" in v.split("://", 1)[1].split("/", 1)[0] \
                and ":" in v.split("://", 1)[1].split("@", 1)[0]:
            raise ValueError("the url holds a password: use {env: VARIABLE_NAME}")
        return v
    staging: StagingConfig = Field(default_factory=StagingConfig)


# --- the file --------------------------------------------------------------------------------


class PipelinesConfig(Model):
    connections: dict[str, ConnectionConfig]
    streams: dict[str, StreamConfig] = Field(default_factory=dict)
    blueprints: dict[str, BlueprintConfig] = Field(default_factory=dict)
    blueprints_files: list[str] = Field(
        default_factory=list, description="Port blueprint JSON files (a list of blueprints), used unchanged")
    mappings: list[MappingConfig] = Field(default_factory=list)
    tables: dict[str, TableConfig] = Field(default_factory=dict)
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    syncs: dict[str, SyncConfig] = Field(default_factory=dict)
    datasources: dict[str, DataSourceConfig] = Field(default_factory=dict)
    state: StateConfig = Field(default_factory=StateConfig)

    source_path: Path | None = Field(None, exclude=True, description="set by the loader")

    @model_validator(mode="after")
    def _implicit_streams(self):
        """A table that declares its own objects (Polaris' way) reads them through a stream of its
        own, `<table>__source`: one more spelling of a stream, added here so every consumer sees it."""
        for table, (name, stream) in implicit_streams(self.tables).items():
            if self.streams.get(name, stream) != stream:
                raise ValueError(f"tables.{table}: a stream named {name} exists; it is the name of this "
                                 "table's implicit stream: rename one of them")
            self.streams[name] = stream
        return self

    @model_validator(mode="after")
    def _config_datasources(self):
        """Streams selecting a data source of this file get its prefix now; the CLI's come from
        the registry (`s3_pipelines.datasources.resolve_streams`)."""
        for stream in self.streams.values():
            ds = self.datasources.get(stream.select.datasource or "")
            if ds is not None:
                stream.select.resolve_datasource(ds.prefix)
        return self

    def implicit_stream_names(self) -> set[str]:
        return {source_stream_name(name, t) for name, t in self.tables.items() if t.stream is None}

    # where state lives, absolute
    def base_dir(self) -> Path:
        return self.source_path.parent if self.source_path else Path.cwd()

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir() / p).resolve()

    def ledger_path(self) -> Path:
        if self.state.ledger_path:
            return self.resolve(self.state.ledger_path)
        files = [c.path for c in self.connections.values() if getattr(c, "path", None)]  # a DuckDB catalog
        folder = self.resolve(files[0]).parent if files else self.resolve(".s3_pipelines")
        return folder / "ledger.sqlite"

    def state_target(self) -> tuple[str | Path, str | None]:
        """Where the state lives: (database URL, its schema), or (the SQLite file, None)."""
        db = self.state_database()
        if db is None:
            return self.ledger_path(), None
        return (db if isinstance(db, str) else db.resolve()), self.state.schema_name

    def state_database(self) -> str | SecretRef | None:
        """The state database's URL (or the secret holding it); None for the embedded SQLite file."""
        db = self.state.database
        if isinstance(db, str) and "://" not in db:  # a connection's name (s3_pipelines.check checks it)
            conn = self.connections.get(db)
            if conn is None or conn.type != "postgres":
                raise ValueError(f"state.database: no postgres connection named {db!r}")
            return conn.url
        return db

    def s3_connection(self, name: str) -> S3ConnectionConfig:
        conn = self.connections[name]
        assert conn.type == "s3", name
        return conn


def implicit_streams(tables: dict[str, TableConfig]) -> dict[str, tuple[str, StreamConfig]]:
    """`{table: (<table>__source, StreamConfig)}` for the tables that declare their own objects."""
    out = {}
    for name, table in tables.items():
        data = implicit_stream_data(name, table)
        if data is not None:
            try:
                out[name] = (source_stream_name(name, table), StreamConfig.model_validate(data))
            except ValidationError as e:
                err = e.errors(include_url=False)[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"tables.{name}.source_options: " + (f"{loc}: {err['msg']}" if loc else err["msg"])) from None
    return out


def json_schema() -> dict[str, Any]:
    """The file's shapes; `s3_pipelines.check.json_schema` adds the names the registries accept
    (formats, compressions), which this leaf cannot import."""
    schema = PipelinesConfig.model_json_schema(by_alias=True)
    schema["properties"].pop("source_path", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "s3_pipelines pipelines.yaml"
    return schema
