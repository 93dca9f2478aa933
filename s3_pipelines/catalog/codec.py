"""Entity rows <-> the catalog's text columns (canonical JSON) and Arrow tables."""

from __future__ import annotations

import json

import orjson
import pyarrow as pa

from .schema import ENTITY_COLUMNS


def to_json(value) -> str | None:
    """Canonical JSON text (sorted keys, compact); integers beyond 64 bits keep their digits."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | None):
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_TS = pa.timestamp("us", tz="UTC")
_TYPES = {"created_at": _TS, "updated_at": _TS}


def entity_table(rows: list[dict]) -> pa.Table:
    """Entity rows (JSON fields as Python values) -> an Arrow table of the entities table's columns."""
    cols = {}
    for c in ENTITY_COLUMNS:
        values = [r.get(c) for r in rows]
        if c in ("team", "properties", "relations"):
            values = [to_json(v) for v in values]
        cols[c] = pa.array(values, _TYPES.get(c, pa.string()))
    return pa.table(cols)


def entity_row(raw: dict) -> dict:
    """A row read from the entities table -> JSON fields as Python values."""
    row = dict(raw)
    for c in ("team", "properties", "relations"):
        row[c] = from_json(row.get(c))
    row["properties"] = row["properties"] or {}
    row["relations"] = row["relations"] or {}
    return row
