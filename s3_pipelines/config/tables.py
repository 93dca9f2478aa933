"""Polaris-style `tables` section (SPEC §1, seed 003): batch ingestion of objects into a SQL table
through SQL-expression mappings, optionally rolled up.

A table reads a `stream`, or declares its own objects the Polaris way (`connection`, exactly one of
`uris` / `prefixes` / `objects` / `pattern`, `format_settings`). Such a table becomes an implicit
stream named `<table>__source` (see `implicit_stream_data`), so listing, the ledger, staging, sensors and
partitions are the stream engine's. Polaris' camelCase names (inputSchema, isAggregation, ...) are
accepted as aliases so a job spec can be pasted with few edits; docs/tables.md maps them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from .base import Model, check_unique
SOURCE_SUFFIX = "__source"
DESCRIPTORS = ("uris", "prefixes", "objects", "pattern")
AGGREGATES = ("MAX", "MIN", "SUM", "COUNT")
COUNT_COLUMN = "__count"
TIME_COLUMN = "__time"
POLARIS_MAX_PARSE_EXCEPTIONS = 2_147_483_647  # Polaris' default: no limit


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class FormatSettings(Model):
    """Polaris `formatSettings`. Every object of one table has the same format."""

    format: str = Field(description="nd-json, csv, tsv, parquet (Polaris' names), or any format of the readers' "
                        "registry; checked by s3_pipelines.check")
    compression: str = "auto"
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


class InputColumn(Model):
    """One column of Polaris' `inputSchema`: `{name, type}` (or `{name, dataType}`)."""

    name: str = Field(min_length=1)
    type: Literal["string", "long", "double", "boolean", "timestamp"] = Field(
        validation_alias=_alias("type", "dataType"))


class TableMapping(Model):
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


class TableConfig(Model):
    description: str | None = None
    table_name: str | None = Field(None, min_length=1, max_length=63, validation_alias=_alias("table_name", "tableName"),
                                   description="name of the table in the target (default: this entry's name)")
    target: str | None = Field(None, description="SQL target connection, e.g. duckdb or postgres (default: the only one)")
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
        check_unique((c.name for c in v or []), "input column names")
        return v

    @field_validator("mappings")
    @classmethod
    def _unique_columns(cls, v):
        names = [m.column for m in v]
        check_unique(names, "mapped columns")
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


def _scan(text: str) -> tuple[int, str | None]:
    """Opened minus closed parentheses outside quotes (stopping at the first `)` that closes
    nothing), and the quote left open at the end, if any."""
    depth, quote = 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth < 0:
                return depth, quote
    return depth, quote


def paren_depth(text: str) -> int:
    """Negative as soon as a `)` closes nothing, else how many `(` stay open (outside quotes)."""
    return _scan(text)[0]


def _balanced(text: str) -> bool:
    return _scan(text) == (0, None)


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
        "format": "csv" if fs.format == "tsv" else fs.format,  # nd-json is an alias of jsonl in the registry
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
