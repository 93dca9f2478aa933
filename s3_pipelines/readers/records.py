"""`Piece`: parsed rows of one object on their way to output, and Python records -> Arrow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np
import orjson
import pyarrow as pa


@dataclass
class Piece:
    """Data columns of some consecutive records of one object, before envelope/schema/provenance."""

    table: pa.Table
    rows: np.ndarray  # int64, 1-based record ordinal per row (bad records counted too)
    lines: np.ndarray | None  # int64, 1-based source line per row; None when the format has no lines
    json_text: frozenset[str] = field(default_factory=frozenset)  # string columns holding JSON text
    raw_text: frozenset[str] = field(default_factory=frozenset)  # csv cell text, not yet typed

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
        )


# Field metadata marking a string column that holds the JSON text of its values (a column whose
# values Arrow cannot type as one); consumers that want the values (jq mappings) decode it.
JSON_TEXT_KEY = b"s3p.json_text"


def json_text_field(name: str) -> pa.Field:
    return pa.field(name, pa.string(), metadata={JSON_TEXT_KEY: b"1"})


def is_json_text(field: pa.Field) -> bool:
    return bool(field.metadata) and field.metadata.get(JSON_TEXT_KEY) == b"1"


def json_dumps(value) -> str:
    """JSON text of a parsed value; integers beyond 64 bits (orjson refuses them) keep their digits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


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
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            arr = pa.array([None if v is None else json_dumps(v) for v in values], pa.string())
            json_cols.add(name)
        arrays.append(arr)
    if not arrays:  # records with no fields still count as rows
        return pa.table({"__n": pa.nulls(len(records))}).drop_columns(["__n"]), frozenset()
    return pa.Table.from_arrays(arrays, names=list(names)), frozenset(json_cols)
