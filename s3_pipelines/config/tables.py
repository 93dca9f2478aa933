"""Polaris-style `tables` section (SPEC §1, seed 003): batch ingestion of objects into a SQL table
through SQL-expression mappings, optionally rolled up.

A table reads a `stream`, or declares its own objects the Polaris way (`connection`, exactly one of
`uris` / `prefixes` / `objects` / `pattern`, `format_settings`). Such a table becomes an implicit
stream named `<table>__source` (see `implicit_streams`), so listing, the ledger, staging, sensors and
partitions are the stream engine's. Polaris' camelCase names (inputSchema, isAggregation, ...) are
accepted as aliases so a job spec can be pasted with few edits; docs/tables.md maps them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # same rule as stream names (models.NAME_RE)
SOURCE_SUFFIX = "__source"
DESCRIPTORS = ("uris", "prefixes", "objects", "pattern")
AGGREGATES = ("MAX", "MIN", "SUM", "COUNT")
COUNT_COLUMN = "__count"
TIME_COLUMN = "__time"
POLARIS_MAX_PARSE_EXCEPTIONS = 2_147_483_647  # Polaris' default: no limit


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FormatSettings(_Model):
    """Polaris `formatSettings`. Every object of one table has the same format."""

    format: Literal["nd-json", "csv", "tsv", "parquet"]
    compression: Literal["auto", "gzip", "zstd", "none"] = "auto"
    has_header: bool = Field(True, validation_alias=_alias("has_header", "findColumnsFromHeader"),
                             description="csv/tsv: the first row (after skipped rows) names the columns")
    skip_header_rows: int = Field(0, ge=0, validation_alias=_alias("skip_header_rows", "skipHeaderRows"),
                                  description="csv/tsv: rows to skip at the start of each object")
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="csv: default ',', tsv: tab")
    columns: list[str] | None = Field(None, description="csv/tsv: column names when has_header is false")

    @model_validator(mode="after")
    def _csv_only(self):
        text = self.format in ("csv", "tsv")
        csv_fields = {"has_header", "skip_header_rows", "delimiter", "columns"} & self.model_fields_set
        if csv_fields and not text:
            raise ValueError(f"{', '.join(sorted(csv_fields))} only apply to csv and tsv, not {self.format}")
        if text and not self.has_header and not self.columns:
            raise ValueError("has_header is false: give the column names in `columns`")
        return self


class InputColumn(_Model):
    """One column of Polaris' `inputSchema`: `{name, type}` (or `{name, dataType}`)."""

    name: str = Field(min_length=1)
    type: Literal["string", "long", "double", "boolean", "timestamp"] = Field(
        validation_alias=_alias("type", "dataType"))


class TableMapping(_Model):
    """`{column, expression, aggregate?}` (Polaris `{columnName, expression, isAggregation}`).
    An aggregate is exactly one of MAX(expr), MIN(expr), SUM(expr), COUNT(*), COUNT(expr);
    `aggregate` may be left out, it is then read from the expression."""

    column: str = Field(min_length=1, validation_alias=_alias("column", "columnName"))
    expression: str = Field(min_length=1)
    aggregate: bool | None = Field(None, validation_alias=_alias("aggregate", "isAggregation"))

    @model_validator(mode="after")
    def _aggregate_form(self):
        call = aggregate_call(self.expression)
        if self.aggregate is None:
            self.aggregate = call is not None
        elif self.aggregate and call is None:
            raise ValueError(f"aggregate: {self.expression!r} is not one of "
                             "MAX(expr), MIN(expr), SUM(expr), COUNT(*), COUNT(expr)")
        elif not self.aggregate and call is not None:
            raise ValueError(f"{self.expression!r} is an aggregate: set aggregate: true (or leave it out)")
        if self.aggregate and self.column == TIME_COLUMN:
            raise ValueError("__time is a dimension (e.g. TIME_FLOOR(...)), not an aggregate")
        return self


class TableConfig(_Model):
    description: str | None = None
    table_name: str | None = Field(None, min_length=1, max_length=63, validation_alias=_alias("table_name", "tableName"),
                                   description="name of the table in the target (default: this entry's name)")
    target: str | None = Field(None, description="duckdb or postgres connection (default: the only one)")
    # where the rows come from: a stream, or the table's own Polaris object descriptors
    stream: str | None = None
    connection: str | None = Field(None, validation_alias=_alias("connection", "connectionName"))
    uris: list[str] | None = None
    prefixes: list[str] | None = None
    objects: list[str] | None = None
    pattern: str | None = None
    format_settings: FormatSettings | None = Field(None, validation_alias=_alias("format_settings", "formatSettings"))
    source_options: dict[str, Any] | None = Field(
        None, description="more fields of the implicit stream (listing, partitioning, sensor, ...)")
    # what lands in the table
    input_schema: list[InputColumn] | None = Field(None, validation_alias=_alias("input_schema", "inputSchema"))
    mappings: list[TableMapping] = Field(min_length=1)
    ingestion_mode: Literal["append", "replace"] = Field("append", validation_alias=_alias("ingestion_mode", "ingestionMode"))
    create_table_if_not_exists: bool = Field(
        False, validation_alias=_alias("create_table_if_not_exists", "createTableIfNotExists"))
    max_parse_exceptions: int = Field(POLARIS_MAX_PARSE_EXCEPTIONS, ge=0,
                                      validation_alias=_alias("max_parse_exceptions", "maxParseExceptions"))
    partitioning_granularity: Literal["hour", "day", "week", "month", "year", "all"] = Field(
        "day", validation_alias=_alias("partitioning_granularity", "partitioningGranularity"),
        description="replace mode replaces whole __time intervals of this size that the load touches")

    @field_validator("input_schema")
    @classmethod
    def _unique_inputs(cls, v):
        if v:
            names = [c.name for c in v]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"duplicate input column names: {', '.join(dup)}")
        return v

    @field_validator("mappings")
    @classmethod
    def _unique_columns(cls, v):
        names = [m.column for m in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate mapped columns: {', '.join(dup)}")
        if COUNT_COLUMN in names and any(m.aggregate for m in v):
            raise ValueError("__count is added to every rollup table; do not map it")
        return v

    @model_validator(mode="after")
    def _one_source(self):
        given = [n for n in DESCRIPTORS if getattr(self, n) is not None]
        own = given or self.connection or self.format_settings or self.source_options
        if self.stream is not None:
            if own:
                raise ValueError("a table reads a `stream` or declares its own objects (connection, "
                                 "uris/prefixes/objects/pattern, format_settings), not both")
            return self
        if not self.connection:
            raise ValueError("give `stream`, or `connection` with one of uris, prefixes, objects, pattern")
        if len(given) != 1:
            raise ValueError("give exactly one of uris, prefixes, objects, pattern")
        if self.format_settings is None:
            raise ValueError("format_settings is required when the table declares its own objects")
        if not self.input_schema:
            raise ValueError("input_schema is required when the table declares its own objects")
        return self

    @property
    def rollup(self) -> bool:
        return any(m.aggregate for m in self.mappings)

    def select_fields(self) -> dict:
        return {n: getattr(self, n) for n in DESCRIPTORS if getattr(self, n) is not None}


def aggregate_call(expression: str) -> tuple[str, str] | None:
    """(FUNCTION, argument) when the whole expression is one MAX/MIN/SUM/COUNT call, else None.
    `MAX(a) + MAX(b)` is not: its outer parentheses do not close at the end."""
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*\((.*)\)\s*", expression, re.DOTALL)
    if not m or m.group(1).upper() not in AGGREGATES or not _balanced(m.group(2)):
        return None
    arg = m.group(2).strip()
    if not arg or (arg == "*" and m.group(1).upper() != "COUNT"):
        return None
    return m.group(1).upper(), arg


def _balanced(text: str) -> bool:
    depth, quote = 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and quote is None


def source_stream_name(name: str, table: TableConfig) -> str:
    """The stream a table reads: its `stream`, or its implicit `<table>__source`."""
    return table.stream or f"{name}{SOURCE_SUFFIX}"


def implicit_stream_data(name: str, table: TableConfig) -> dict | None:
    """The stream (as plain config data) behind a table with its own object descriptors."""
    if table.stream is not None:
        return None
    fs = table.format_settings
    data: dict[str, Any] = {
        "connection": table.connection,
        "description": table.description or f"Objects of table {name}",
        "select": table.select_fields(),
        "format": {"nd-json": "jsonl", "csv": "csv", "tsv": "csv", "parquet": "parquet"}[fs.format],
        "compression": fs.compression,
        "schema": [{"name": c.name, "type": c.type} for c in table.input_schema or []],
        # Polaris counts parse exceptions per job; one object alone may not pass the job's limit
        "on_error": "skip_record",
        "max_errors": table.max_parse_exceptions,
    }
    if fs.format in ("csv", "tsv"):
        data["csv"] = {"has_headers": fs.has_header, "skip_lines": fs.skip_header_rows,
                       "delimiter": fs.delimiter or ("\t" if fs.format == "tsv" else ","),
                       "column_names": fs.columns}
    for key, value in (table.source_options or {}).items():
        data[key] = value
    return data


def implicit_streams(tables: dict[str, TableConfig]) -> dict[str, Any]:
    """`{<table>__source: StreamConfig}` for the tables that declare their own objects."""
    from .models import StreamConfig  # models imports this module

    out = {}
    for name, table in tables.items():
        data = implicit_stream_data(name, table)
        if data is not None:
            try:
                out[source_stream_name(name, table)] = StreamConfig.model_validate(data)
            except ValueError as e:
                raise ValueError(f"tables.{name}.source_options: {_first_error(e)}") from None
    return out


def _first_error(e: ValueError) -> str:
    errors = getattr(e, "errors", None)
    if callable(errors):
        err = errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {err['msg']}" if loc else err["msg"]
    return str(e)


# --- cross-references, on plain data (see models.reference_problems) ---------------------------


def table_problems(data: dict) -> list[str]:
    """Names, streams, connections and targets that tables refer to, each with its YAML path;
    then the mappings compiled against the input schema, so a typo fails `validate`, not a run."""
    tables = data.get("tables") or {}
    if not isinstance(tables, dict):
        return []
    conns = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    streams = data.get("streams") if isinstance(data.get("streams"), dict) else {}
    sql_conns = [n for n, c in conns.items() if isinstance(c, dict) and c.get("type") in ("duckdb", "postgres")]
    problems: list[str] = []
    for name, t in tables.items():
        where = f"tables.{name}"
        if not _NAME_RE.match(str(name)):
            problems.append(f"{where}: names are letters, digits and _, not starting with a digit")
            continue
        if not isinstance(t, dict):
            continue
        problems += _target_problem(where, t.get("target"), conns, sql_conns)
        if t.get("stream") is not None:
            stream = streams.get(t["stream"])
            if not isinstance(stream, dict):
                problems.append(f"{where}.stream: no stream named {t['stream']!r}")
            elif not (t.get("input_schema") or t.get("inputSchema") or stream.get("schema")):
                problems.append(f"{where}.input_schema: required, since stream {t['stream']!r} has no schema")
        else:
            conn_name = t.get("connection", t.get("connectionName"))
            if conn_name is not None:
                problems += _connection_problems(where, conn_name, conns, t.get("uris"))
            if f"{name}{SOURCE_SUFFIX}" in streams:
                problems.append(f"{where}: a stream named {name}{SOURCE_SUFFIX} exists; it is the name of this "
                                "table's implicit stream: rename one of them")
    return problems


def _target_problem(where: str, target, conns: dict, sql_conns: list[str]) -> list[str]:
    if target is None:
        if len(sql_conns) != 1:
            found = ", ".join(sql_conns) or "none"
            return [f"{where}.target: required when there is not exactly one duckdb/postgres connection (found: {found})"]
        return []
    conn = conns.get(target)
    if not isinstance(conn, dict):
        return [f"{where}.target: no connection named {target!r}"]
    if conn.get("type") not in ("duckdb", "postgres"):
        return [f"{where}.target: {target!r} is a {conn.get('type')} connection, not duckdb or postgres"]
    return []


def _connection_problems(where: str, conn_name, conns: dict, uris) -> list[str]:
    conn = conns.get(conn_name)
    if not isinstance(conn, dict):
        return [f"{where}.connection: no connection named {conn_name!r}"]
    if conn.get("type") != "s3":
        return [f"{where}.connection: {conn_name!r} is a {conn.get('type')} connection, not s3"]
    prefix = str(conn.get("prefix") or "").lstrip("/")
    prefix = prefix + "/" if prefix and not prefix.endswith("/") else prefix
    out = []
    for uri in uris or []:
        bucket, _, key = str(uri)[5:].partition("/")
        if bucket != conn.get("bucket"):
            out.append(f"{where}.uris: {uri} is in bucket {bucket!r}, but connection {conn_name!r} is bucket "
                       f"{conn.get('bucket')!r}")
        elif not key.startswith(prefix):
            out.append(f"{where}.uris: {uri} is outside the connection prefix {prefix!r}")
    return out


def resolve_target(name: str, table: TableConfig, connections: dict) -> str:
    """The connection name a table writes to."""
    if table.target:
        return table.target
    sql = [n for n, c in connections.items() if c.type in ("duckdb", "postgres")]
    if len(sql) != 1:
        raise ValueError(f"tables.{name}.target: required")
    return sql[0]


def attach_tables(cfg) -> None:
    """Called once the file is valid: tables with their own objects add their implicit streams to
    `cfg.streams`, and every table's mappings are compiled (DuckDB) so a typo fails `validate`."""
    for stream_name, stream in implicit_streams(cfg.tables).items():
        if cfg.streams.get(stream_name, stream) != stream:
            raise ValueError(f"streams.{stream_name}: the name of a table's implicit stream; rename the stream")
        cfg.streams[stream_name] = stream
    if not cfg.tables:
        return
    from ..tables.macros import connect  # the engine; imported only when there are tables
    from ..tables.plan import PlanError, build_plan, input_columns

    problems: list[str] = []
    con = connect()
    try:
        for name, table in cfg.tables.items():
            stream = cfg.streams[source_stream_name(name, table)]
            try:
                build_plan(name, table, input_columns(table, stream.schema_), con)
            except PlanError as e:
                problems += e.problems
    finally:
        con.close()
    if problems:
        raise ValueError("\n".join(problems))
