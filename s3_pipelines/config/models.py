"""The `pipelines.yaml` file as pydantic models: the contract of SPEC §1.

Paths in the file are relative to the file's own folder; `PipelinesConfig.resolve_paths` makes them
absolute once, so every process (CLI, code server, run worker) agrees on where state lives.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .port import BlueprintConfig, MappingConfig
from .secrets import SecretRef
from .tables import TableConfig, attach_tables, table_problems

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- connections -----------------------------------------------------------------------------


class S3Auth(_Model):
    mode: Literal["access_key_and_secret", "iam_role", "default"] = Field(
        "default", description="access_key_and_secret | iam_role (STS AssumeRole) | default (AWS chain)"
    )
    aws_access_key_id: SecretRef | None = None
    aws_secret_access_key: SecretRef | None = None
    aws_session_token: SecretRef | None = None
    iam_role_arn: str | None = Field(None, description="role to assume (mode iam_role)")
    external_id: SecretRef | None = Field(None, description="sts:ExternalId of the trust policy")
    role_session_name: str = "s3-pipelines"
    role_duration_seconds: int = Field(3600, ge=900, le=43200)

    @model_validator(mode="after")
    def _mode_fields(self):
        if self.mode == "access_key_and_secret" and not (
            self.aws_access_key_id and self.aws_secret_access_key
        ):
            raise ValueError("mode access_key_and_secret needs aws_access_key_id and aws_secret_access_key")
        if self.mode == "iam_role" and not self.iam_role_arn:
            raise ValueError("mode iam_role needs iam_role_arn")
        if self.mode != "iam_role" and (self.iam_role_arn or self.external_id):
            raise ValueError(f"iam_role_arn / external_id only apply to mode iam_role, not {self.mode}")
        return self


class S3ConnectionConfig(_Model):
    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field("", description="the connection sees only keys under this prefix")
    region: str | None = None
    endpoint_url: str | None = Field(None, description="MinIO, R2, a local S3 server")
    auth: S3Auth = Field(default_factory=S3Auth)
    event_queue_url: str | None = None
    max_attempts: int = Field(8, ge=1, le=30, description="attempts per request on 5xx/throttling")
    addressing_style: Literal["auto", "path", "virtual"] = "auto"

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]", v):
            raise ValueError(f"{v!r} is not a valid S3 bucket name")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.lstrip("/")
        if v and not v.endswith("/"):
            v += "/"
        if ".." in v.split("/"):
            raise ValueError("prefix must not contain '..'")
        return v


class DuckDBConnectionConfig(_Model):
    type: Literal["duckdb"]
    path: str = ".s3_pipelines/catalog.duckdb"


class PostgresConnectionConfig(_Model):
    type: Literal["postgres"]
    url: str | SecretRef = Field(description="postgresql://user@host:port/db; {env: NAME} when it holds a password")

    @field_validator("url")
    @classmethod
    def _no_password_in_file(cls, v):
        if isinstance(v, str) and re.match(r"^[a-z+]+://[^/@:]+:[^/@]+@", v):
            raise ValueError("the url holds a password: use {env: VARIABLE_NAME}")
        return v
    schema_name: str = Field("public", alias="schema")


ConnectionConfig = Annotated[
    Union[S3ConnectionConfig, DuckDBConnectionConfig, PostgresConnectionConfig],
    Field(discriminator="type"),
]


# --- streams ---------------------------------------------------------------------------------


class Select(_Model):
    """Exactly one object descriptor. Keys, prefixes and patterns are relative to the connection
    prefix; `uris` are absolute (`s3://bucket/key`) and must lie inside the connection."""

    uris: list[str] | None = None
    prefixes: list[str] | None = None
    objects: list[str] | None = None
    pattern: str | None = Field(None, description="glob over keys: * and ? within a segment, ** across")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [n for n in ("uris", "prefixes", "objects", "pattern") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uris, prefixes, objects, pattern")
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


class CsvOptions(_Model):
    has_headers: bool = True
    skip_lines: int = Field(0, ge=0, description="lines to skip before the header (or first row)")
    delimiter: str = Field(",", min_length=1, max_length=1)
    quote_char: str = Field('"', min_length=1, max_length=1)
    column_names: list[str] | None = Field(None, description="names when has_headers is false")


ColumnType = Literal["string", "long", "double", "boolean", "timestamp", "date", "json"]


class ColumnSpec(_Model):
    name: str = Field(min_length=1)
    type: ColumnType


class Listing(_Model):
    mode: Literal["start_after", "watermark"] = Field(
        "watermark",
        description="start_after: keys sort by arrival time (Airbyte, Pipedream layouts), a tick lists "
        "only keys after the last one seen; watermark: any layout, ticks sweep the prefix a few pages "
        "at a time and pick objects newer than the last-modified watermark minus the overlap",
    )
    overlap_seconds: int = Field(900, ge=0)
    max_pages_per_tick: int = Field(20, ge=1, le=1000)


class Partitioning(_Model):
    granularity: Literal["hour", "day"] = "day"
    start: dt.date = Field(dt.date(2020, 1, 1), description="first partition; older objects fall into it")


class StreamConfig(_Model):
    connection: str
    description: str | None = None
    select: Select
    format: Literal["csv", "jsonl", "json", "parquet", "auto"] = "auto"
    compression: Literal["auto", "gzip", "zstd", "none"] = "auto"
    csv: CsvOptions = Field(default_factory=CsvOptions)
    envelope: Literal["none", "airbyte"] = "none"
    schema_: list[ColumnSpec] | None = Field(None, alias="schema")
    on_error: Literal["skip_record", "skip_file", "fail"] = "skip_record"
    max_errors: int = Field(1000, ge=0)
    max_decompressed_bytes: int = Field(50 * 2**30, ge=1, description="stop an object (gzip bomb) past this")
    max_line_bytes: int = Field(64 * 2**20, ge=8 * 2**20, description="a longer JSON Lines line is a bad "
                                "record, read past in bounded memory (at least the 8 MiB parse chunk)")
    listing: Listing = Field(default_factory=Listing)
    partitioning: Partitioning = Field(default_factory=Partitioning)
    sensor: bool = Field(True, description="create a sensor watching the selection")
    sensor_interval_seconds: int = Field(30, ge=5)

    @field_validator("schema_")
    @classmethod
    def _unique_columns(cls, v):
        if v:
            names = [c.name for c in v]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"duplicate column names: {', '.join(dup)}")
        return v


# --- where state lives -----------------------------------------------------------------------


class StagingConfig(_Model):
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


class StateConfig(_Model):
    ledger_path: str | None = Field(None, description="SQLite ledger; default beside the catalog")
    staging: StagingConfig = Field(default_factory=StagingConfig)


# --- the file --------------------------------------------------------------------------------


class PipelinesConfig(_Model):
    connections: dict[str, ConnectionConfig]
    streams: dict[str, StreamConfig] = Field(default_factory=dict)
    blueprints: dict[str, BlueprintConfig] = Field(default_factory=dict)
    blueprints_files: list[str] = Field(
        default_factory=list, description="Port blueprint JSON files (a list of blueprints), used unchanged")
    mappings: list[MappingConfig] = Field(default_factory=list)
    tables: dict[str, TableConfig] = Field(default_factory=dict)
    state: StateConfig = Field(default_factory=StateConfig)

    source_path: Path | None = Field(None, exclude=True, description="set by the loader")

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo):
        problems = reference_problems(self.model_dump(by_alias=True, mode="json"))
        from .port_resolve import entity_problems  # blueprints/mappings: Port files, names, jq syntax

        problems += entity_problems(self, (info.context or {}).get("base_dir"))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _tables(self):
        attach_tables(self)  # tables with their own objects become streams; mappings are compiled
        return self

    # where state lives, absolute
    def base_dir(self) -> Path:
        return self.source_path.parent if self.source_path else Path.cwd()

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir() / p).resolve()

    def ledger_path(self) -> Path:
        if self.state.ledger_path:
            return self.resolve(self.state.ledger_path)
        catalogs = [c for c in self.connections.values() if c.type == "duckdb"]
        folder = self.resolve(catalogs[0].path).parent if catalogs else self.resolve(".s3_pipelines")
        return folder / "ledger.sqlite"

    def s3_connection(self, name: str) -> S3ConnectionConfig:
        conn = self.connections[name]
        assert conn.type == "s3", name
        return conn


def reference_problems(data: dict) -> list[str]:
    """Names and cross-references, checked on plain data so the loader can report them together
    with field errors (pydantic skips after-validators once a field fails)."""
    problems: list[str] = []
    conns = data.get("connections") or {}
    streams = data.get("streams") or {}
    for section, items in (("connections", conns), ("streams", streams)):
        for name in items if isinstance(items, dict) else ():
            if not NAME_RE.match(str(name)):
                problems.append(f"{section}.{name}: names are letters, digits and _, not starting with a digit")
    for name, stream in (streams.items() if isinstance(streams, dict) else ()):
        if not isinstance(stream, dict) or "connection" not in stream:
            continue
        conn = conns.get(stream["connection"]) if isinstance(conns, dict) else None
        if not isinstance(conn, dict):
            problems.append(f"streams.{name}.connection: no connection named {stream['connection']!r}")
            continue
        if conn.get("type") != "s3":
            problems.append(
                f"streams.{name}.connection: {stream['connection']!r} is a {conn.get('type')} connection, not s3"
            )
            continue
        prefix = S3ConnectionConfig._prefix(conn.get("prefix") or "")
        for uri in (stream.get("select") or {}).get("uris") or []:
            bucket, _, key = str(uri)[5:].partition("/")
            if bucket != conn.get("bucket"):
                problems.append(
                    f"streams.{name}.select.uris: {uri} is in bucket {bucket!r}, "
                    f"but connection {stream['connection']!r} is bucket {conn.get('bucket')!r}"
                )
            elif not key.startswith(prefix):
                problems.append(f"streams.{name}.select.uris: {uri} is outside the connection prefix {prefix!r}")
    staging = ((data.get("state") or {}).get("staging") or {})
    if isinstance(staging, dict) and staging.get("connection"):
        conn = conns.get(staging["connection"]) if isinstance(conns, dict) else None
        if not isinstance(conn, dict) or conn.get("type") != "s3":
            problems.append(f"state.staging.connection: no s3 connection named {staging['connection']!r}")
    return problems + table_problems(data)


def json_schema() -> dict[str, Any]:
    schema = PipelinesConfig.model_json_schema(by_alias=True)
    schema["properties"].pop("source_path", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "s3_pipelines pipelines.yaml"
    return schema
