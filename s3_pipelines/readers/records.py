"""`Piece`: parsed rows of one object on their way to output, and Python records -> Arrow."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class Piece:
    """Data columns of some consecutive records of one object, before envelope/schema/provenance."""

    table: pa.Table
    rows: np.ndarray  # int64, 1-based record ordinal per row (bad records counted too)
    lines: np.ndarray | None  # int64, 1-based source line per row; None when the format has no lines
    json_text: frozenset[str] = field(default_factory=frozenset)  # string columns holding JSON text
    raw_text: frozenset[str] = field(default_factory=frozenset)  # csv cell text, not yet typed
    # the JSON text of each record as the source wrote it (JSON formats): the typed columns are the
    # union of the records' keys, this is what each record really held (see RECORD_COLUMN)
    texts: pa.Array | None = None

    def where(self, i: int) -> int:
        """What a BadRecord for row i points at: its line, else its ordinal."""
        return int(self.lines[i] if self.lines is not None else self.rows[i])

    def keep(self, mask: np.ndarray) -> "Piece":
        if mask.all():
            return self
        return replace(
            self,
            table=self.table.filter(pa.array(mask)),
            rows=self.rows[mask],
            lines=None if self.lines is None else self.lines[mask],
            texts=None if self.texts is None else self.texts.filter(pa.array(mask)),
        )


# The staged column holding each record's JSON text exactly as the source wrote it (key order,
# empty objects, absent keys, number literals). Typed columns are a view for SQL and for the
# compiled mapping path; whatever needs the record itself (jq, exports) reads this column.
RECORD_COLUMN = "_s3_record"
# the provenance columns that end every batch, and their types
PROVENANCE_TYPES = {"_s3_bucket": pa.string(), "_s3_key": pa.string(), "_s3_etag": pa.string(),
                    "_s3_row": pa.int64(), "_s3_line": pa.int64()}
PROVENANCE = (*PROVENANCE_TYPES, RECORD_COLUMN)
# Schema metadata of a staged batch read without RECORD_COLUMN (staging.read_batches with
# `skip_text`): where its texts are, so a consumer that turns out to need them can fetch them.
TEXT_AT_KEY = b"s3p.record_text_at"


class RecordTextOmitted(LookupError):
    """A batch read without its records' texts reached something that reads them (jq)."""


# Field metadata marking a string column that holds the JSON text of its values (a column whose
# values Arrow cannot type as one); consumers that want the values (jq mappings) decode it.
JSON_TEXT_KEY = b"s3p.json_text"


def json_text_field(name: str) -> pa.Field:
    return pa.field(name, pa.string(), metadata={JSON_TEXT_KEY: b"1"})


def is_json_text(field: pa.Field) -> bool:
    return bool(field.metadata) and field.metadata.get(JSON_TEXT_KEY) == b"1"


_LONG_DIGITS = re.compile(r"\d{19}")


def json_loads(text: str | bytes):
    """orjson, except where an integer may exceed 64 bits (orjson would make it a float)."""
    if _LONG_DIGITS.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        return json.loads(text)
    return orjson.loads(text)


def json_dumps(value) -> str:
    """JSON text of a parsed value; integers beyond 64 bits (orjson refuses them) keep their digits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def json_type(v) -> str:
    """The JSON type of a parsed value, as JSON Schema names it (messages of jq and of validation)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def table_from_records(records: list[dict]) -> tuple[pa.Table, frozenset[str]]:
    """Columns in first-seen key order. A column Arrow cannot type as one (a number in one record,
    an object in another; an integer beyond int64) becomes JSON text, so nothing is dropped or
    silently turned into a float. Returns the table and the names of those JSON-text columns."""
    names: dict[str, None] = {}
    for rec in records:
        for k in rec:
            if k not in names:
                names[k] = None
    arrays, json_cols = [], set()
    for name in names:
        values = [rec.get(name) for rec in records]
        try:
            arr = pa.array(values)
            if not _same(arr.to_pylist(), values):  # Arrow coerced a value (false in [1.5, false] as 0.0)
                raise ValueError(name)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            arr = pa.array([None if v is None else json_dumps(v) for v in values], pa.string())
            json_cols.add(name)
        arrays.append(arr)
    if not arrays:  # records with no fields still count as rows
        return pa.table({"__n": pa.nulls(len(records))}).drop_columns(["__n"]), frozenset()
    return pa.Table.from_arrays(arrays, names=list(names)), frozenset(json_cols)


def _same(a, b) -> bool:
    """Values equal with their JSON types (Python's False == 0.0 is not; a struct's key that a
    record lacks reads as null)."""
    if type(a) is bool or type(b) is bool:
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_same(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if a is None or b is None:
        return a is b
    return a == b  # 1 and 1.0 are one JSON number; 2**60 + 1 and its double are not equal


def _needs_fix(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(_needs_fix(f.type) for f in t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.types.is_null(t.value_type) or _needs_fix(t.value_type)
    return False


def _storable_array(arr: pa.Array, name: str) -> tuple[pa.Array, pa.Field]:
    t = arr.type
    if not _needs_fix(t):
        return arr, pa.field(name, t)
    if pa.types.is_struct(t) and t.num_fields == 0:  # only ever {} or null: its JSON text
        text = pa.array(["{}" if v else None for v in arr.is_valid().to_pylist()], pa.string())
        return text, json_text_field(name)
    mask = arr.is_null() if arr.null_count else None
    if pa.types.is_struct(t):
        children = [_storable_array(arr.field(i), t.field(i).name) for i in range(t.num_fields)]
        out = pa.StructArray.from_arrays([c for c, _ in children], fields=[f for _, f in children], mask=mask)
        return out, pa.field(name, out.type)
    if pa.types.is_null(t.value_type):
        # pyarrow's JSON reader can give `[null, null]` fewer null values than its offsets span
        offsets = arr.offsets
        start = offsets[0].as_py() if len(offsets) else 0
        end = offsets[-1].as_py() if len(offsets) else 0
        values, vfield = pa.nulls(end - start), t.value_field
        offsets = pc.subtract(offsets, start) if start else offsets
    else:
        values, vfield = _storable_array(arr.values, t.value_field.name)
        offsets = arr.offsets
    cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
    out = cls.from_arrays(offsets, values, type=(pa.large_list if cls is pa.LargeListArray else pa.list_)(vfield),
                          mask=mask)
    return out, pa.field(name, out.type)


def storable(col: pa.Array | pa.ChunkedArray, name: str) -> tuple[pa.Array | pa.ChunkedArray, pa.Field | None]:
    """A typed column Parquet can hold: an empty object infers as `struct<>`, which Parquet cannot
    store, so such values (at any depth) become their JSON text "{}" in a field marked as JSON text;
    lists of nulls are rebuilt whole (pyarrow's JSON reader may give them too few values).
    Returns (column, new field) — the field is None when nothing changed. The record itself is
    unaffected: its exact text is in RECORD_COLUMN."""
    if not _needs_fix(col.type):
        return col, None
    if isinstance(col, pa.ChunkedArray):
        parts = [_storable_array(c, name) for c in col.chunks]
        if not parts:
            arr, fld = _storable_array(pa.array([], col.type), name)
            return pa.chunked_array([], arr.type), fld
        return pa.chunked_array([p for p, _ in parts], parts[0][1].type), parts[0][1]
    return _storable_array(col, name)
