"""Column types: the declared schema (cast, bad values -> bad records), CSV text inference, and
keeping inferred types steady across the batches of one object.

Casting is vectorized (pyarrow.compute) first; only a column whose cast fails is converted value by
value in Python, which is the authoritative rule and names the rows that cannot be converted.

Timestamp rule (output timestamp[us, UTC]): ISO-8601 strings (`2024-01-01`, `2024-01-01T10:00:00`,
`...Z`, `...+02:00`, space or T) — without a zone they are UTC; numbers (or numeric strings) are
epoch seconds when |x| < 1e11, else epoch milliseconds (1e11 s is the year 5138).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import Policy
from .options import ColumnSpec
from .records import Piece, json_dumps

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}
TYPE_WORDS = {"json": "valid JSON"}  # "is not valid JSON"; others read "is not a long"
EPOCH_MS_THRESHOLD = 1e11
_INT_TEXT = re.compile(r"[+-]?\d+")
_LEADING_ZERO = r"^[+-]?0\d"
_UTC = dt.timezone.utc
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def is_airbyte_meta(name: str) -> bool:
    return name.startswith("_airbyte_")


# --- declared schema ---------------------------------------------------------------------------


def apply_schema(piece: Piece, specs: tuple[ColumnSpec, ...], policy: Policy) -> Piece:
    """Declared columns in declared order (missing -> null), then `_airbyte_*` columns as they are.
    Rows with a value that cannot be cast are reported and dropped."""
    table, n = piece.table, piece.table.num_rows
    reasons: dict[int, str] = {}
    arrays, names = [], []
    for spec in specs:
        target = ARROW_TYPES[spec.type]
        if spec.name in table.column_names:
            col = table[spec.name].combine_chunks()
            mode = "raw" if spec.name in piece.raw_text else "json" if spec.name in piece.json_text else "value"
            arr, bad = cast_column(col, spec, mode)
            for i, reason in bad.items():
                reasons.setdefault(i, reason)
        else:
            arr = pa.nulls(n, target)
        arrays.append(arr)
        names.append(spec.name)
    declared = {s.name for s in specs}
    for name in table.column_names:
        if is_airbyte_meta(name) and name not in declared:
            arrays.append(table[name])
            names.append(name)
    keep = np.ones(n, dtype=bool)
    for i in sorted(reasons):
        policy.bad(piece.where(i), reasons[i])
        keep[i] = False
    out = Piece(
        pa.Table.from_arrays(arrays, names=names) if arrays else table.select([]),
        piece.rows,
        piece.lines,
        raw_text=frozenset(n_ for n_ in piece.raw_text if n_ in names and n_ not in declared),
    )
    return out.keep(keep)


def cast_column(arr: pa.Array, spec: ColumnSpec, mode: str) -> tuple[pa.Array, dict[int, str]]:
    """(cast array, {row index: reason}) — bad rows hold null in the returned array.
    mode: "value" (Arrow values), "raw" (CSV cell text), "json" (JSON text of the value)."""
    target = ARROW_TYPES[spec.type]
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target), {}
    if mode != "json":
        try:
            fast = _vectorized(arr, spec.type, mode)
        except (pa.ArrowException, OverflowError, ValueError):
            fast = None
        if fast is not None:
            return fast, {}
    convert = CONVERTERS[spec.type]
    values: list = []
    bad: dict[int, str] = {}
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            values.append(None)
            continue
        try:
            if mode == "json" and spec.type != "json":
                v = json.loads(v)  # stdlib: exact big integers
            values.append(convert(v, mode))
        except (ValueError, TypeError, OverflowError):
            bad[i] = f"column {spec.name}: {_show(v)} is not {TYPE_WORDS.get(spec.type, 'a ' + spec.type)}"
            values.append(None)
    return pa.array(values, target), bad


def _show(v) -> str:
    text = repr(v) if isinstance(v, str) else json_dumps(v) if not isinstance(v, (dt.date,)) else str(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _vectorized(arr: pa.Array, type_: str, mode: str) -> pa.Array | None:
    """The cast done by pyarrow, or None when only the value-by-value rule applies."""
    t = arr.type
    is_str = pa.types.is_string(t) or pa.types.is_large_string(t)
    numeric = pa.types.is_integer(t) or pa.types.is_floating(t)
    if type_ == "string":
        if is_str:
            return arr.cast(pa.string())
        if numeric or pa.types.is_boolean(t):
            return pc.cast(arr, pa.string())
        return None
    if type_ in ("long", "double"):
        if numeric or is_str:
            return pc.cast(arr, ARROW_TYPES[type_])
        return None
    if type_ == "boolean":
        if pa.types.is_boolean(t):
            return arr
        return pc.cast(arr, pa.bool_()) if is_str else None
    if type_ == "timestamp":
        target = ARROW_TYPES["timestamp"]
        if is_str:
            sample = arr.drop_null().slice(0, 32)  # a failed cast is slow: pick the variant on a sample
            try:
                pc.cast(sample, target)
                return pc.cast(arr, target)
            except pa.ArrowInvalid:  # no zone in the text: UTC
                return pc.cast(pc.cast(arr, pa.timestamp("us")), target)
        if pa.types.is_integer(t):
            arr = arr.cast(pa.int64())
            small = pc.less(pc.abs(arr), int(EPOCH_MS_THRESHOLD))
            micros = pc.if_else(small, pc.multiply_checked(arr, 1_000_000), pc.multiply_checked(arr, 1000))
            return pc.cast(micros, target)
        if pa.types.is_timestamp(t):
            return pc.cast(arr, target)  # naive: UTC
        return None
    if type_ == "date":
        if is_str or pa.types.is_timestamp(t) or pa.types.is_date(t):
            return pc.cast(arr, pa.date32())
        return None
    if type_ == "json":
        if mode == "value" and (numeric or pa.types.is_boolean(t)):
            return pc.cast(arr, pa.string())
        return None
    raise ValueError(f"unknown column type {type_}")


# value-by-value conversions; raise ValueError/TypeError when the value does not fit


def _to_long(v, mode):
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError
        v = int(v)
    elif isinstance(v, str):
        s = v.strip()
        if not _INT_TEXT.fullmatch(s):
            raise ValueError
        v = int(s)
    elif not isinstance(v, int):
        raise TypeError
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise OverflowError
    return v


def _to_double(v, mode):
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise TypeError
    return float(v.strip() if isinstance(v, str) else v)


def _to_bool(v, mode):
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
    raise ValueError


def _epoch(x: float) -> dt.datetime:
    seconds = x if abs(x) < EPOCH_MS_THRESHOLD else x / 1000
    return dt.datetime(1970, 1, 1, tzinfo=_UTC) + dt.timedelta(seconds=seconds)


def _to_timestamp(v, mode):
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=_UTC) if v.tzinfo is None else v.astimezone(_UTC)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=_UTC)
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, (int, float)):
        return _epoch(v)
    if isinstance(v, str):
        s = v.strip()
        try:
            number = float(s)
        except ValueError:
            return _parse_iso(s)
        return _epoch(number)
    raise TypeError


def _parse_iso(s: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(s)
    return d.replace(tzinfo=_UTC) if d.tzinfo is None else d.astimezone(_UTC)


def _to_date(v, mode):
    if isinstance(v, dt.datetime):
        return _to_timestamp(v, mode).date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        s = v.strip()
        return dt.date.fromisoformat(s) if len(s) == 10 else _parse_iso(s).date()
    raise TypeError


def _to_string(v, mode):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return json_dumps(v)


def _to_json(v, mode):
    if mode == "json":
        return v
    if mode == "raw":  # a CSV cell must hold JSON text; kept verbatim
        json.loads(v)
        return v
    return json_dumps(v)


CONVERTERS: dict[str, Callable] = {
    "string": _to_string,
    "long": _to_long,
    "double": _to_double,
    "boolean": _to_bool,
    "timestamp": _to_timestamp,
    "date": _to_date,
    "json": _to_json,
}


# --- without a declared schema -----------------------------------------------------------------


def infer_text_columns(piece: Piece) -> Piece:
    """CSV cells -> long, double or boolean when every value of the column (in this batch) is one;
    numbers with leading zeros ("007") stay text. Everything else stays string."""
    if not piece.raw_text:
        return piece
    table = piece.table
    for name in piece.raw_text:
        idx = table.schema.get_field_index(name)
        col = table.column(idx)
        typed = _infer(col)
        if typed is not None:
            table = table.set_column(idx, pa.field(name, typed.type), typed)
    return replace(piece, table=table, raw_text=frozenset())


def _infer(col: pa.ChunkedArray):
    if col.null_count == len(col):
        return pa.nulls(len(col)) if len(col) else None
    sample = col.drop_null().slice(0, 32)  # a failed cast is slow: try a few values first
    for target in (pa.int64(), pa.float64()):
        try:
            pc.cast(sample, target)
            out = pc.cast(col, target)
        except pa.ArrowInvalid:
            continue
        if target == pa.int64() and pc.any(pc.match_substring_regex(col, _LEADING_ZERO)).as_py():
            return None
        return out
    lowered = pc.utf8_lower(col)
    if pc.all(pc.is_in(lowered, pa.array(["true", "false"]), skip_nulls=True)).as_py():
        return pc.equal(lowered, "true")
    return None


class TypeMemory:
    """Keeps an object's inferred column types steady: a column all null in one batch takes the
    type it had before; integers following doubles become doubles."""

    def __init__(self) -> None:
        self.types: dict[str, pa.DataType] = {}

    def steady(self, piece: Piece) -> Piece:
        table = piece.table
        for idx, f in enumerate(table.schema):
            prev = self.types.get(f.name)
            if prev is not None and f.type != prev:
                if pa.types.is_null(f.type):
                    table = table.set_column(idx, pa.field(f.name, prev), pa.nulls(table.num_rows, prev))
                    continue
                if pa.types.is_integer(f.type) and pa.types.is_floating(prev):
                    table = table.set_column(idx, pa.field(f.name, prev), pc.cast(table.column(idx), prev))
                    continue
            if not pa.types.is_null(f.type):
                self.types[f.name] = f.type
        return replace(piece, table=table)
