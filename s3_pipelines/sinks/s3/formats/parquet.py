"""`parquet`: the records' typed columns (what tables and SQL see), nested values as Parquet
nested types, one zstd-compressed file per window. Columns in first-seen order across the
window's batches; a column whose type differs between them becomes JSON text (field marked so).
With provenance, the `_s3_*` columns — `_s3_record` among them, each record's exact text — ride along."""

from __future__ import annotations

import io
from typing import BinaryIO, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ....readers.records import RECORD_COLUMN, is_json_text, json_dumps, json_loads, json_text_field, storable
from ._rows import data_names, read_back

ROW_GROUP_ROWS = 1 << 20


def _table(batch: pa.RecordBatch, provenance: bool) -> pa.Table:
    names = [n for n in data_names(batch.schema, provenance) if provenance or n != RECORD_COLUMN]
    cols, fields = [], []
    for n in names:
        col, fld = storable(batch.column(n), n)
        cols.append(col)
        fields.append(fld or batch.schema.field(n))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _as_json_text(table: pa.Table, name: str) -> pa.Table:
    i = table.schema.get_field_index(name)
    field = table.schema.field(i)
    values = table.column(i).to_pylist()
    if is_json_text(field):
        values = [None if v is None else json_loads(v) for v in values]
    text = pa.array([None if v is None else json_dumps(v) for v in values], pa.string())
    return table.set_column(i, json_text_field(name), text)


def _combine(tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    seen: dict[str, pa.DataType] = {}
    mixed: set[str] = set()
    for t in tables:
        for f in t.schema:
            if f.name in seen and seen[f.name] != f.type and not pa.types.is_null(f.type) \
                    and not pa.types.is_null(seen[f.name]):
                mixed.add(f.name)
            elif not pa.types.is_null(f.type) or f.name not in seen:
                seen[f.name] = f.type
    for name in mixed:
        tables = [_as_json_text(t, name) if name in t.schema.names else t for t in tables]
    return pa.concat_tables(tables, promote_options="permissive")


def encode(batches: Sequence[pa.RecordBatch], out: BinaryIO, provenance: bool = False) -> None:
    table = _combine([_table(b, provenance) for b in batches])
    pq.write_table(table, out, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def decode(data: bytes) -> list[dict]:
    """Typed rows as the engine's Parquet reader gives them (its provenance columns left out,
    any written with the object kept)."""
    keep = set(pq.read_schema(io.BytesIO(data)).names)
    rows = []
    for batch in read_back(data, "object.parquet", "parquet"):
        names = [n for n in batch.schema.names if n in keep]
        rows.extend(batch.select(names).to_pylist())
    return rows
