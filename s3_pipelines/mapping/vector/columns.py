"""Value columns of the compiled path and the helpers every operator and built-in shares.

A value column (`Col`) has a jq kind that holds for every row that is not null (Arrow columns
are homogeneous; null is jq's null), an Arrow array of the values, and the rows' states: an
error message (`err`, non-null where the expression raised) or no output (`emp`, e.g. a failed
`select`). A row is a *value row* when it is neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ...readers.records import is_json_text
from .parse import Unsupported

MAX_EXACT_INT = 2**53  # integers beyond it do not survive jq's doubles unchanged


class NeedJq(Exception):
    """This batch needs the jq engine for this expression (a rare, value-dependent case)."""


@dataclass
class Col:
    kind: str  # null | boolean | number | string | array | object | root
    arr: pa.Array | None
    err: pa.Array | None = None  # string: the error message of a row, null when none
    emp: pa.Array | None = None  # bool: true where the expression has no output
    # an object (or array of objects) read from the record's columns: the typed columns are the
    # union of the records' keys, so such a value may show keys its record does not have (as
    # null) — it may only be indexed further, never used whole (see `exact_shape`)
    union: bool = False


class BodyRef(Col):
    """`.body` before anything is taken from it: fields come straight from the batch's columns;
    the whole body (`arr`) is built by the evaluator only when asked for."""

    def __init__(self, ev):
        super().__init__("object", None)
        self.ev = ev

    def __getattribute__(self, name):
        if name == "arr":
            body = object.__getattribute__(self, "ev")._body_struct()
            return body.arr
        return object.__getattribute__(self, name)


# --- types ---------------------------------------------------------------------------------------


def normalize(arr: pa.Array, field: pa.Field | None = None) -> tuple[str, pa.Array]:
    """(jq kind, array in a canonical Arrow type) of a column; Unsupported for types jq would see
    through a conversion we do not reproduce (timestamps, decimals, binary, JSON text)."""
    if field is not None and is_json_text(field):
        raise Unsupported(f"column {field.name} holds JSON text of mixed-type values")
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_null(t):
        return "null", arr
    if pa.types.is_boolean(t):
        return "boolean", arr
    if pa.types.is_integer(t):
        if t == pa.uint64():
            raise Unsupported("uint64 column")
        return "number", arr if t == pa.int64() else arr.cast(pa.int64())
    if pa.types.is_floating(t):
        return "number", arr if t == pa.float64() else arr.cast(pa.float64())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string", arr if pa.types.is_string(t) else arr.cast(pa.string())
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        check_nested(t.value_field)
        return "array", arr
    if pa.types.is_struct(t):
        return "object", arr
    raise Unsupported(f"column type {t}")


def check_nested(f: pa.Field) -> None:
    """A nested type whose values to_pylist gives as plain JSON values."""
    if is_json_text(f):
        raise Unsupported(f"field {f.name} holds JSON text of mixed-type values")
    t = f.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        check_nested(t.value_field)
    elif pa.types.is_struct(t):
        for i in range(t.num_fields):
            check_nested(t.field(i))
    elif not (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
              or pa.types.is_floating(t) or (pa.types.is_integer(t) and t != pa.uint64())):
        raise Unsupported(f"field {f.name} of type {t}")


def has_struct(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return has_struct(t.value_type)
    return False


def exact_shape(col: Col) -> Col:
    """`col` when its values are exactly what jq sees in each record; Unsupported (the expression
    goes to jq over the record's own text) for an object taken whole from the record columns:
    `keys`, `has`, `length`, `==`, `tostring` or the value itself would see other records' keys."""
    if col.union:
        raise Unsupported("an object of the record used whole (its own keys, not the columns' union, need jq)")
    return col


def check_output(col: Col) -> None:
    """A column that can be an expression's output (what to_python and object construction take)."""
    if col.kind == "root":
        raise Unsupported("the whole input (`.`) as a value")
    exact_shape(col)
    if col.kind in ("object", "array"):
        check_nested(pa.field("value", col.arr.type))


# --- row states ----------------------------------------------------------------------------------


def n_rows(c: Col) -> int:
    return len(c.arr)


def non_value_rows(c: Col) -> pa.Array | None:
    """Rows that are not values (an error or no output); None when every row is a value."""
    if c.err is None and c.emp is None:
        return None
    if c.err is None:
        return c.emp
    e = pc.is_valid(c.err)
    return e if c.emp is None else pc.or_(e, c.emp)


def value_rows(c: Col) -> pa.Array | None:
    """Rows that are values; None when every row is one."""
    bad = non_value_rows(c)
    return None if bad is None else pc.invert(bad)


def then_state(first: Col, second: Col) -> tuple:
    """(err, emp) of evaluating `first` and, for its value rows, `second`."""
    bad = non_value_rows(first)
    if bad is None:
        return second.err, second.emp
    err, emp = first.err, first.emp
    if second.err is not None:
        e2 = pc.if_else(bad, pa.scalar(None, pa.string()), second.err)
        err = e2 if err is None else pc.coalesce(err, e2)
    if second.emp is not None:
        m2 = pc.and_(pc.invert(bad), second.emp)
        emp = m2 if emp is None else pc.or_(emp, m2)
    return err, emp


def add_error(c: Col, rows: pa.Array, message) -> pa.Array | None:
    """c's errors plus `message` (a string or a string array) on `rows` that are values of c."""
    ok = value_rows(c)
    if ok is not None:
        rows = pc.and_(rows, ok)
    rows = pc.fill_null(rows, False)
    if not pc.any(rows).as_py():
        return c.err
    msg = pa.scalar(message, pa.string()) if isinstance(message, str) else message
    new = pc.if_else(rows, msg, pa.scalar(None, pa.string()))
    return new if c.err is None else pc.coalesce(c.err, new)


def any_value_row(rows: pa.Array, c: Col) -> bool:
    """Whether any of `rows` is a value row of c."""
    ok = value_rows(c)
    if ok is not None:
        rows = pc.and_(rows, ok)
    return bool(pc.any(pc.fill_null(rows, False)).as_py())


def non_null(c: Col) -> pa.Array:
    return pc.is_valid(c.arr)


def truthy(c: Col) -> pa.Array:
    """jq truthiness of the values (false and null are false); no nulls in the result."""
    if c.kind == "boolean":
        return pc.fill_null(c.arr, False)
    if c.kind == "null":
        return pa.repeat(False, n_rows(c))
    return pc.is_valid(c.arr)


def constant(value, n: int) -> Col:
    """A column of n copies of a JSON scalar."""
    if value is None:
        return Col("null", pa.nulls(n))
    if isinstance(value, bool):
        return Col("boolean", pa.repeat(value, n))
    if isinstance(value, int):
        return Col("number", pa.repeat(pa.scalar(value, pa.int64()), n))
    if isinstance(value, float):
        return Col("number", pa.repeat(pa.scalar(value, pa.float64()), n))
    return Col("string", pa.repeat(pa.scalar(value, pa.string()), n))


def json_name(name: str) -> str:
    """A field name as jq quotes it in error messages."""
    return json.dumps(name, ensure_ascii=False)
