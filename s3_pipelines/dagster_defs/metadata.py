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


def preview_table(table: pa.Table, rows: int = 10) -> dg.TableMetadataValue:
    table = table.slice(0, rows)
    schema = dg.TableSchema(columns=[dg.TableColumn(f.name, _kind(f.type)) for f in table.schema])
    records = [dg.TableRecord({k: _cell(v) for k, v in r.items()}) for r in table.to_pylist()]
    return dg.MetadataValue.table(records, schema=schema)


def ledger_table(rows) -> dg.TableMetadataValue:
    schema = dg.TableSchema(columns=[
        dg.TableColumn("key", "string"), dg.TableColumn("etag", "string"), dg.TableColumn("size", "int"),
        dg.TableColumn("last_modified", "string"), dg.TableColumn("status", "string"), dg.TableColumn("rows", "int"),
    ])
    return dg.MetadataValue.table([
        dg.TableRecord({"key": r.obj.key, "etag": r.obj.etag, "size": r.obj.size,
                        "last_modified": r.obj.last_modified.isoformat(), "status": r.status, "rows": r.rows})
        for r in rows
    ], schema=schema)
