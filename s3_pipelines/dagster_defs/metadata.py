"""Arrow tables and ledger rows as Dagster table metadata (shown in the UI)."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow as pa

_TYPES = {"int": "int", "double": "float", "float": "float", "bool": "bool", "timestamp": "datetime"}


def _cell(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v if not isinstance(v, str) else v[:200]
    return json.dumps(v, default=str)[:200]


def _kind(t: pa.DataType) -> str:
    return next((k for p, k in _TYPES.items() if str(t).startswith(p)), "string")


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """For `dagster/column_schema`: the columns as the Arrow schema types them."""
    return dg.TableSchema(columns=[dg.TableColumn(f.name, _kind(f.type)) for f in schema])


def preview_table(table: pa.Table, rows: int = 10) -> dg.TableMetadataValue:
    table = table.slice(0, rows)
    schema = column_schema(table.schema)
    records = [dg.TableRecord({k: _cell(v) for k, v in r.items()}) for r in table.to_pylist()]
    return dg.MetadataValue.table(records, schema=schema)


def listing_table(rows) -> dg.TableMetadataValue:
    """Object versions as listed: what is in S3, not what became of them."""
    schema = dg.TableSchema(columns=[
        dg.TableColumn("key", "string"), dg.TableColumn("etag", "string"), dg.TableColumn("size", "int"),
        dg.TableColumn("last_modified", "string"),
    ])
    return dg.MetadataValue.table([
        dg.TableRecord({"key": r.obj.key, "etag": r.obj.etag, "size": r.obj.size,
                        "last_modified": r.obj.last_modified.isoformat()})
        for r in rows
    ], schema=schema)


def ledger_table(rows) -> dg.TableMetadataValue:
    """Object versions with what the ledger says became of them."""
    schema = dg.TableSchema(columns=[
        dg.TableColumn("key", "string"), dg.TableColumn("etag", "string"), dg.TableColumn("size", "int"),
        dg.TableColumn("last_modified", "string"), dg.TableColumn("status", "string"), dg.TableColumn("rows", "int"),
        dg.TableColumn("bad_rows", "int"), dg.TableColumn("error", "string"),
    ])
    return dg.MetadataValue.table([
        dg.TableRecord({"key": r.obj.key, "etag": r.obj.etag, "size": r.obj.size,
                        "last_modified": r.obj.last_modified.isoformat(), "status": r.status, "rows": r.rows,
                        "bad_rows": r.bad_rows, "error": (r.error or "")[:300] or None})
        for r in rows
    ], schema=schema)


def problems_table(rows: list[dict], shown: int = 20) -> dg.TableMetadataValue:
    """Unreadable records or objects: `{object, line, reason}` each, the first `shown` of them; with
    a `new` column when the rows say whether this run found them."""
    with_new = any("new" in r for r in rows)
    columns = [dg.TableColumn("object", "string"), dg.TableColumn("line", "int"), dg.TableColumn("reason", "string")]
    schema = dg.TableSchema(columns=columns + ([dg.TableColumn("new", "bool")] if with_new else []))
    return dg.MetadataValue.table([
        dg.TableRecord({"object": r["object"], "line": r["line"], "reason": str(r["reason"])[:300],
                        **({"new": bool(r.get("new"))} if with_new else {})})
        for r in rows[:shown]
    ], schema=schema)
