"""Arrow batches of a stream (staged Parquet, or a local file read by the readers) -> the records a
mapping sees, exactly as the source wrote them, without our `_s3_*` provenance columns, each with
its source line (the record number for formats without lines).

JSON formats carry each record's text (`_s3_record`): records come from it, so empty objects,
absent keys, key order and number literals are the record's own — the typed columns are the union
of an object's keys and would add other records' keys as nulls. Formats without it (CSV, Parquet,
a declared schema) have the same keys in every record: their rows are the records (a column the
reader kept as JSON text is decoded back; Parquet maps become objects)."""

from __future__ import annotations

import orjson
import pyarrow as pa

from ..readers.records import PROVENANCE, RECORD_COLUMN, TEXT_AT_KEY, RecordTextOmitted, is_json_text, json_loads
from .evaluate import dumps

SOURCE_KEY = "_PORT_SOURCE_OBJECT_KEY"
_HEAD = b'{"body":'
_TAIL = b',"headers":{},"queryParams":{}}'


def batch_lines(batch: pa.RecordBatch | pa.Table) -> list[int | None]:
    names = batch.schema.names
    n = batch.num_rows
    line = batch.column(names.index("_s3_line")).to_pylist() if "_s3_line" in names else [None] * n
    row = batch.column(names.index("_s3_row")).to_pylist() if "_s3_row" in names else [None] * n
    return [ln if ln is not None else r for ln, r in zip(line, row)]


def record_texts(batch: pa.RecordBatch | pa.Table) -> list[str] | None:
    idx = batch.schema.get_field_index(RECORD_COLUMN)
    if idx < 0 and TEXT_AT_KEY in (batch.schema.metadata or {}):
        raise RecordTextOmitted("the batch was read without its records' texts")  # typed rows are not the records
    return None if idx < 0 else batch.column(idx).to_pylist()


def batch_records(batch: pa.RecordBatch | pa.Table) -> tuple[list[dict], list[int | None]]:
    lines = batch_lines(batch)
    texts = record_texts(batch)
    if texts is not None:
        return [json_loads(t) for t in texts], lines
    names = batch.schema.names
    keep = [i for i, name in enumerate(names) if name not in PROVENANCE]
    if len(keep) != len(names):
        batch = batch.select(keep)
    records = batch.to_pylist()
    for f in batch.schema:
        if is_json_text(f) or _has_map(f.type):
            name, json_text = f.name, is_json_text(f)
            for rec in records:
                if rec[name] is not None:
                    rec[name] = json_loads(rec[name]) if json_text else _plain(rec[name], f.type)
    return records, lines


def jq_inputs(batch: pa.RecordBatch | pa.Table, object_key: str) -> list[bytes]:
    """Port's jq input per record: {"body": record + {"_PORT_SOURCE_OBJECT_KEY": key}, "headers": {},
    "queryParams": {}} — built from the record's own text where there is one (no round trip
    through Python values, so number literals reach jq as written)."""
    texts = record_texts(batch)
    return dict_inputs(batch_records(batch)[0], object_key) if texts is None else text_inputs(texts, object_key)


def dict_inputs(records: list[dict], object_key: str) -> list[bytes]:
    out = []
    for rec in records:
        rec[SOURCE_KEY] = object_key
        out.append(_HEAD + dumps(rec) + _TAIL)
    return out


def text_inputs(texts: list[str], object_key: str) -> list[bytes]:
    member = b'"' + SOURCE_KEY.encode() + b'":' + orjson.dumps(object_key) + b"}"
    return [_HEAD + _with_member(t.encode(), member) + _TAIL for t in texts]


def _with_member(text: bytes, member: bytes) -> bytes:
    """`text` (one JSON object) with `member` (`"k":v}`) added last: jq's `. + {k: v}` on the text."""
    inner = text.rstrip()[:-1].rstrip()
    return inner + (member if inner.endswith(b"{") else b"," + member)


def _has_map(t: pa.DataType) -> bool:
    if pa.types.is_map(t):
        return True
    if pa.types.is_struct(t):
        return any(_has_map(f.type) for f in t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_map(t.value_type)
    return False


def _plain(v, t: pa.DataType):
    """A value with Parquet maps (lists of pairs in Python) turned into the objects they are."""
    if v is None:
        return None
    if pa.types.is_map(t):
        return {k if isinstance(k, str) else str(k): _plain(x, t.item_type) for k, x in v}
    if pa.types.is_struct(t):
        return {f.name: _plain(v.get(f.name), f.type) for f in t}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [_plain(x, t.value_type) for x in v]
    return v
