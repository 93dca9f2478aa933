"""Evaluate a parsed jq expression (see parse.py) over a whole Arrow batch at once, with jq's
semantics row by row.

A value column (`Col`) has a jq kind that holds for every row that is not null (Arrow columns
are homogeneous; null is jq's null), an Arrow array of the values, and the rows' states: an
error message (`err`, non-null where the expression raised) or no output (`emp`, e.g. a failed
`select`). Evaluation of an empty batch with a schema is the static check: anything jq would do
differently for some kind of value raises `Unsupported`. Data-dependent cases that are rare and
hard to reproduce exactly (an error message quoting a value, an integer beyond 2^53 in a
comparison, a float formatted by `tostring` in exponent form) raise `NeedJq` at run time and the
expression goes to the jq engine for that batch.

Order of evaluation follows jq: a binary operator evaluates its right operand first (so its
error wins), object construction and `and`/`or` go left to right, and (jq 1.8) an error on the left of `//` propagates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import jq
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ...readers.records import is_json_text
from .parse import Unsupported

__all__ = ["Col", "NeedJq", "Evaluator", "to_python"]

_EXACT = 2**53
_RANK = {"null": 0, "boolean": 1, "number": 3, "string": 4, "array": 5, "object": 6}


class NeedJq(Exception):
    """This batch needs the jq engine for this expression (a rare, value-dependent case)."""


@dataclass
class Col:
    kind: str  # null | boolean | number | string | array | object | root
    arr: pa.Array | None
    err: pa.Array | None = None  # string: the error message of a row, null when none
    emp: pa.Array | None = None  # bool: true where the expression has no output


# --- types ---------------------------------------------------------------------------------------


def _norm(arr: pa.Array, field: pa.Field | None = None) -> tuple[str, pa.Array]:
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
        _check_nested(t.value_field)
        return "array", arr
    if pa.types.is_struct(t):
        return "object", arr
    raise Unsupported(f"column type {t}")


def _check_nested(f: pa.Field) -> None:
    """A nested type whose values to_pylist gives as plain JSON values."""
    if is_json_text(f):
        raise Unsupported(f"field {f.name} holds JSON text of mixed-type values")
    t = f.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        _check_nested(t.value_field)
    elif pa.types.is_struct(t):
        for i in range(t.num_fields):
            _check_nested(t.field(i))
    elif not (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
              or pa.types.is_floating(t) or (pa.types.is_integer(t) and t != pa.uint64())):
        raise Unsupported(f"field {f.name} of type {t}")


def _check_output(col: Col) -> None:
    if col.kind == "root":
        raise Unsupported("the whole input (`.`) as a value")
    if col.kind in ("object", "array"):
        _check_nested(pa.field("value", col.arr.type))


# --- row states ----------------------------------------------------------------------------------


def _n(c: Col) -> int:
    return len(c.arr)


def _bad(c: Col) -> pa.Array | None:
    """Rows that are not values (an error or no output)."""
    if c.err is None and c.emp is None:
        return None
    if c.err is None:
        return c.emp
    e = pc.is_valid(c.err)
    return e if c.emp is None else pc.or_(e, c.emp)


def _ok(c: Col) -> pa.Array | None:
    bad = _bad(c)
    return None if bad is None else pc.invert(bad)


def _then(first: Col, second: Col) -> tuple:
    """(err, emp) of evaluating `first` and, for its value rows, `second`."""
    bad = _bad(first)
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


def _add_error(c: Col, rows: pa.Array, message) -> pa.Array | None:
    """c's errors plus `message` (a string or a string array) on `rows` that are values of c."""
    ok = _ok(c)
    if ok is not None:
        rows = pc.and_(rows, ok)
    rows = pc.fill_null(rows, False)
    if not pc.any(rows).as_py():
        return c.err
    msg = pa.scalar(message, pa.string()) if isinstance(message, str) else message
    new = pc.if_else(rows, msg, pa.scalar(None, pa.string()))
    return new if c.err is None else pc.coalesce(c.err, new)


def _any(rows: pa.Array, c: Col) -> bool:
    ok = _ok(c)
    if ok is not None:
        rows = pc.and_(rows, ok)
    return bool(pc.any(pc.fill_null(rows, False)).as_py())


def _nonnull(c: Col) -> pa.Array:
    return pc.is_valid(c.arr)


def _truthy(c: Col) -> pa.Array:
    """jq truthiness of the values (false and null are false); no nulls in the result."""
    if c.kind == "boolean":
        return pc.fill_null(c.arr, False)
    if c.kind == "null":
        return pa.repeat(False, _n(c))
    return pc.is_valid(c.arr)


def _const(value, n: int) -> Col:
    if value is None:
        return Col("null", pa.nulls(n))
    if isinstance(value, bool):
        return Col("boolean", pa.repeat(value, n))
    if isinstance(value, int):
        return Col("number", pa.repeat(pa.scalar(value, pa.int64()), n))
    if isinstance(value, float):
        return Col("number", pa.repeat(pa.scalar(value, pa.float64()), n))
    return Col("string", pa.repeat(pa.scalar(value, pa.string()), n))


def _show(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


# --- the evaluator -------------------------------------------------------------------------------


class Evaluator:
    """Evaluates ASTs over one batch: `.` is Port's input {"body": record + key, "headers": {},
    "queryParams": {}}; the body's fields are the batch's columns (provenance columns excluded)."""

    def __init__(self, batch: pa.RecordBatch, object_key: str, hidden: tuple = (), rows: pa.Array | None = None):
        self.batch = batch
        self.rows = rows  # evaluate these rows only (columns are taken as they are used)
        self.n = batch.num_rows if rows is None else len(rows)
        self.key = object_key
        self.hidden = set(hidden)
        self._body: Col | None = None
        self._cols: dict[int, pa.Array] = {}

    def _column(self, i: int) -> pa.Array:
        col = self._cols.get(i)
        if col is None:
            col = self.batch.column(i)
            if self.rows is not None:
                col = col.take(self.rows)
            self._cols[i] = col
        return col

    def run(self, node) -> Col:
        return self.ev(node, Col("root", None))

    # body fields straight from the batch; the whole body only when asked for
    def _body_field(self, name: str) -> Col:
        if name == "_PORT_SOURCE_OBJECT_KEY":
            return _const(self.key, self.n)
        schema = self.batch.schema
        idx = schema.get_field_index(name) if name not in self.hidden else -1
        if idx < 0:
            return Col("null", pa.nulls(self.n))
        kind, arr = _norm(self._column(idx), schema.field(idx))
        return Col(kind, arr)

    def _body_struct(self) -> Col:
        if self._body is None:
            schema = self.batch.schema
            names, arrays = [], []
            for i, f in enumerate(schema):
                if f.name in self.hidden:
                    continue
                _norm(self._column(i), f)
                _check_nested(f)
                names.append(f.name)
                arrays.append(self._column(i))
            names.append("_PORT_SOURCE_OBJECT_KEY")
            arrays.append(pa.repeat(pa.scalar(self.key, pa.string()), self.n))
            self._body = Col("object", pa.StructArray.from_arrays(arrays, names=names))
        return self._body

    def ev(self, node, ctx: Col) -> Col:
        op = node[0]
        return getattr(self, "_" + op)(node, ctx)

    # --- paths ---------------------------------------------------------------------------------------

    def _identity(self, node, ctx):
        return ctx

    def _field(self, node, ctx):
        base = self.ev(node[1], ctx)
        name = node[2]
        if base.kind == "root":  # Port's input: {"body": ..., "headers": {}, "queryParams": {}}
            if name == "body":
                return _BodyRef(self)
            if name in ("headers", "queryParams"):
                raise Unsupported(f"`.{name}`")
            return Col("null", pa.nulls(self.n))
        if isinstance(base, _BodyRef):
            return self._body_field(name)
        return self.field_of(base, name)

    def field_of(self, base: Col, name: str) -> Col:
        n = _n(base)
        if base.kind == "null":
            return Col("null", pa.nulls(n), base.err, base.emp)
        if base.kind == "object":
            t = base.arr.type
            idx = t.get_field_index(name)
            if idx < 0:
                return Col("null", pa.nulls(n), base.err, base.emp)
            child = pc.struct_field(base.arr, [idx])
            kind, child = _norm(child, t.field(idx))
            return Col(kind, child, base.err, base.emp)
        # jq: indexing a string/number/boolean/array by name is an error (null stays null)
        shown = _show(name)
        if len(shown) > 20:  # jq truncates long names in the message
            if _any(_nonnull(base), base):
                raise NeedJq("long field name in an error message")
        msg = f"Cannot index {base.kind} with string ({shown})"
        return Col("null", pa.nulls(n), _add_error(base, _nonnull(base), msg), base.emp)

    def _index(self, node, ctx):
        base = self.ev(node[1], ctx)
        if isinstance(base, _BodyRef) or base.kind == "root":
            raise Unsupported("indexing the input by number")
        i = node[2]
        n = _n(base)
        if base.kind == "null":
            return Col("null", pa.nulls(n), base.err, base.emp)
        if base.kind != "array":
            msg = f"Cannot index {base.kind} with number ({i})"
            return Col("null", pa.nulls(n), _add_error(base, _nonnull(base), msg), base.emp)
        arr = base.arr
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        offsets = arr.offsets.to_numpy()[:-1].astype(np.int64) if len(arr) else np.zeros(0, np.int64)
        pos = np.full(n, i, dtype=np.int64) if i >= 0 else lengths + i
        valid = (pos >= 0) & (pos < lengths) & arr.is_valid().to_numpy(zero_copy_only=False)
        flat_values = arr.values
        take = np.where(valid, offsets + pos, 0)
        if len(flat_values) == 0:
            child = pa.nulls(n, flat_values.type)
        else:
            child = pc.if_else(pa.array(valid), flat_values.take(pa.array(take)), pa.scalar(None, flat_values.type))
        kind, child = _norm(child, arr.type.value_field)
        return Col(kind, child, base.err, base.emp)

    # --- literals and construction ---------------------------------------------------------------------

    def _lit(self, node, ctx):
        return _const(node[1], self.n if ctx.arr is None else _n(ctx))

    def _obj(self, node, ctx):
        n = self.n if ctx.arr is None else _n(ctx)
        names, arrays = [], []
        state = Col("null", pa.nulls(n))
        for key, sub in node[1]:
            v = self.ev(sub, ctx)
            if isinstance(v, _BodyRef):
                v = self._body_struct()
            _check_output(v)
            err, emp = _then(state, v)
            state = Col("null", state.arr, err, emp)
            names.append(key)
            arrays.append(v.arr)
        if not names:
            raise Unsupported("empty object literal")
        return Col("object", pa.StructArray.from_arrays(arrays, names=names), state.err, state.emp)

    # --- operators ----------------------------------------------------------------------------------

    def value(self, node, ctx) -> Col:
        v = self.ev(node, ctx)
        if isinstance(v, _BodyRef):
            return self._body_struct()
        if v.kind == "root":
            raise Unsupported("the whole input (`.`) as a value")
        return v

    def _pipe(self, node, ctx):
        a = self.ev(node[1], ctx)
        b = self.ev(node[2], a)
        if isinstance(b, _BodyRef) or b.kind == "root":
            return b
        err, emp = _then(a, b) if not (isinstance(a, _BodyRef) or a.kind == "root") else (b.err, b.emp)
        return Col(b.kind, b.arr, err, emp)

    def _alt(self, node, ctx):
        a = self.value(node[1], ctx)
        b = self.value(node[2], ctx)
        ok = _ok(a)
        pick = _truthy(a) if ok is None else pc.and_(ok, _truthy(a))
        if a.kind == "null" or a.kind == "boolean" and b.kind == "boolean":
            kind = b.kind
        elif b.kind == "null" or a.kind == b.kind:
            kind = a.kind
        else:
            raise Unsupported(f"`//` of {a.kind} and {b.kind} values")
        if kind == "boolean" or a.kind == "null":
            av = a.arr if a.kind != "null" else pa.nulls(len(pick), b.arr.type)
        else:
            av = a.arr
        bv = b.arr
        if b.kind == "null":
            bv = pa.nulls(len(bv), av.type)
        if av.type != bv.type:
            raise Unsupported(f"`//` of {av.type} and {bv.type} columns")
        arr = pc.if_else(pick, av, bv)
        # jq 1.8: an error of the left side is not an alternative: it propagates
        use_b = pc.invert(pick) if a.err is None else pc.and_(pc.invert(pick), pc.is_null(a.err))
        err = None if b.err is None else pc.if_else(use_b, b.err, pa.scalar(None, pa.string()))
        if a.err is not None:
            err = a.err if err is None else pc.coalesce(a.err, err)
        emp = None if b.emp is None else pc.and_(use_b, b.emp)
        return Col(kind, arr, err, emp)

    def _and(self, node, ctx):
        return self._logic(node, ctx, True)

    def _or(self, node, ctx):
        return self._logic(node, ctx, False)

    def _logic(self, node, ctx, is_and: bool):
        a = self.value(node[1], ctx)
        b = self.value(node[2], ctx)
        ta = _truthy(a)
        decided = pc.invert(ta) if is_and else ta  # the left side settles the result
        ok = _ok(a)
        if ok is not None:
            decided = pc.and_(decided, ok)
        tb = _truthy(b)
        arr = pc.if_else(decided, pa.scalar(not is_and), tb)
        # state: a's first, then b's where a did not decide
        b_state = Col("boolean", arr,
                      None if b.err is None else pc.if_else(decided, pa.scalar(None, pa.string()), b.err),
                      None if b.emp is None else pc.and_(pc.invert(decided), b.emp))
        err, emp = _then(a, b_state)
        return Col("boolean", arr, err, emp)

    def _cmp(self, node, ctx):
        op = node[1]
        b = self.value(node[3], ctx)  # jq evaluates the right operand first
        a = self.value(node[2], ctx)
        err, emp = _then(b, a)
        for c in (a, b):
            if c.kind in ("array", "object"):
                raise Unsupported(f"comparing {c.kind}s")
        arr = _compare(op, a, b)
        return Col("boolean", arr, err, emp)

    def _add(self, node, ctx):
        b = self.value(node[2], ctx)
        a = self.value(node[1], ctx)
        err, emp = _then(b, a)
        kinds = {a.kind, b.kind} - {"null"}
        if kinds and kinds != {"string"}:
            raise Unsupported(f"`+` of {a.kind} and {b.kind} values")
        if not kinds:
            return Col("null", pa.nulls(_n(a)), err, emp)
        if a.kind == "null":
            return Col("string", b.arr, err, emp)
        if b.kind == "null":
            return Col("string", a.arr, err, emp)
        joined = pc.binary_join_element_wise(a.arr, b.arr, "")
        arr = pc.coalesce(joined, a.arr, b.arr)
        return Col("string", arr, err, emp)

    # --- functions ------------------------------------------------------------------------------------

    def _call(self, node, ctx):
        name, args = node[1], node[2]
        if name == "select":
            c = self.value(("identity",), ctx)
            cond = self.value(args[0], c)
            err, emp = _then(c, cond)
            drop = pc.invert(_truthy(cond))
            emp = drop if emp is None else pc.or_(emp, drop)
            return Col(c.kind, c.arr, err, emp)
        if name == "empty":
            n = self.n if ctx.arr is None else _n(ctx)
            return Col("null", pa.nulls(n), None, pa.repeat(True, n))
        c = self.value(("identity",), ctx)
        return getattr(self, "_fn_" + name)(c, args)

    def _fn_not(self, c, args):
        return Col("boolean", pc.invert(_truthy(c)), c.err, c.emp)

    def _fn_tostring(self, c, args):
        n = _n(c)
        if c.kind == "string":
            return Col("string", pc.fill_null(c.arr, "null"), c.err, c.emp)
        if c.kind == "null":
            return Col("string", pa.repeat(pa.scalar("null"), n), c.err, c.emp)
        if c.kind == "boolean":
            arr = pc.if_else(c.arr, pa.scalar("true"), pa.scalar("false"))
            return Col("string", pc.if_else(pc.is_valid(c.arr), arr, pa.scalar("null")), c.err, c.emp)
        if c.kind == "number":
            if pa.types.is_integer(c.arr.type):
                arr = pc.cast(c.arr, pa.string())
            else:
                arr = _float_strings(c.arr)
            return Col("string", pc.fill_null(arr, "null"), c.err, c.emp)
        raise Unsupported(f"tostring of {c.kind}s (jq's own JSON formatting)")

    def _fn_tonumber(self, c, args):
        if c.kind == "number":
            return Col("number", c.arr, _add_error(c, pc.is_null(c.arr), "null (null) cannot be parsed as a number"), c.emp)
        if c.kind == "string":
            return _tonumber_strings(c)
        if c.kind == "null":
            return Col("null", c.arr, _add_error(c, pa.repeat(True, _n(c)),
                                                 "null (null) cannot be parsed as a number"), c.emp)
        raise Unsupported(f"tonumber of {c.kind}s")

    def _fn_ascii_downcase(self, c, args):
        return self._ascii(c, pc.ascii_lower)

    def _fn_ascii_upcase(self, c, args):
        return self._ascii(c, pc.ascii_upper)

    def _ascii(self, c, fn):
        msg = "explode input must be a string"
        if c.kind == "string":
            return Col("string", fn(c.arr), _add_error(c, pc.is_null(c.arr), msg), c.emp)
        return Col("null", pa.nulls(_n(c)), _add_error(c, pa.repeat(True, _n(c)), msg), c.emp)

    def _fn_length(self, c, args):
        n = _n(c)
        if c.kind == "null":
            return Col("number", pa.repeat(pa.scalar(0, pa.int64()), n), c.err, c.emp)
        nulls = pc.is_null(c.arr)
        if c.kind == "string":
            arr = pc.cast(pc.utf8_length(c.arr), pa.int64())
        elif c.kind == "array":
            arr = pc.cast(pc.list_value_length(c.arr), pa.int64())
        elif c.kind == "object":
            arr = pa.repeat(pa.scalar(c.arr.type.num_fields, pa.int64()), n)
        elif c.kind == "number":
            arr = pc.abs(c.arr)
            if pa.types.is_integer(arr.type) and _any(pc.is_null(arr), Col("number", c.arr)):
                raise NeedJq("length of the smallest int64")
        elif c.kind == "boolean":
            msg = pc.if_else(c.arr, pa.scalar("boolean (true) has no length"), pa.scalar("boolean (false) has no length"))
            return Col("number", pa.repeat(pa.scalar(0, pa.int64()), n),
                       _add_error(c, pc.is_valid(c.arr), msg), c.emp)
        else:
            raise Unsupported(f"length of {c.kind}s")
        arr = pc.if_else(nulls, pa.scalar(0, arr.type), arr)
        return Col("number", arr, c.err, c.emp)

    def _literal_arg(self, args, i, what: str, kinds=(str,)):
        a = args[i]
        if a[0] != "lit" or not isinstance(a[1], kinds) or isinstance(a[1], bool) and bool not in kinds:
            raise Unsupported(f"{what} with an argument that is not a literal")
        return a[1]

    def _fn_split(self, c, args):
        sep = self._literal_arg(args, 0, "split")
        if not sep:
            raise Unsupported('split("")')
        msg = "split input and separator must be strings"
        n = _n(c)
        if c.kind != "string":
            return Col("null", pa.nulls(n), _add_error(c, pa.repeat(True, n), msg), c.emp)
        parts = pc.split_pattern(c.arr, sep)
        empty = pc.equal(c.arr, "")
        if pc.any(pc.fill_null(empty, False)).as_py():  # jq: "" | split(",") is []
            parts = pc.if_else(empty, pa.scalar([], parts.type), parts)
        return Col("array", parts, _add_error(c, pc.is_null(c.arr), msg), c.emp)

    def _fn_test(self, c, args):
        regex = _re2(self._literal_arg(args, 0, "test"))
        n = _n(c)
        if c.kind == "string":
            arr = pc.match_substring_regex(c.arr, regex)
            return Col("boolean", arr, _add_error(c, pc.is_null(c.arr), "null (null) cannot be matched, as it is not a string"), c.emp)
        if c.kind == "null":
            return Col("null", c.arr, _add_error(c, pa.repeat(True, n), "null (null) cannot be matched, as it is not a string"), c.emp)
        if c.kind == "boolean":
            msg = pc.if_else(pc.fill_null(c.arr, False), pa.scalar("boolean (true) cannot be matched, as it is not a string"),
                             pa.scalar("boolean (false) cannot be matched, as it is not a string"))
            msg = pc.if_else(pc.is_null(c.arr), pa.scalar("null (null) cannot be matched, as it is not a string"), msg)
            return Col("null", pa.nulls(n), _add_error(c, pa.repeat(True, n), msg), c.emp)
        if _any(_nonnull(c), c):
            raise NeedJq(f"test on {c.kind}s (the message quotes the value)")
        return Col("null", pa.nulls(n), _add_error(c, pa.repeat(True, n), "null (null) cannot be matched, as it is not a string"), c.emp)

    def _fn_has(self, c, args):
        key = self._literal_arg(args, 0, "has")
        n = _n(c)
        if c.kind == "object":
            present = c.arr.type.get_field_index(key) >= 0
            return Col("boolean", pc.if_else(pc.is_valid(c.arr), pa.scalar(present), pa.scalar(False)), c.err, c.emp)
        if c.kind == "null":
            return Col("boolean", pa.repeat(False, n), c.err, c.emp)
        msg = f"Cannot check whether {c.kind} has a string key"
        return Col("boolean", pa.repeat(False, n), _add_error(c, _nonnull(c), msg), c.emp)

    def _fn_IN(self, c, args):
        arg = args[0]
        items = arg[1] if arg[0] == "comma" else (arg,)
        if not items or any(i[0] != "lit" for i in items):
            raise Unsupported("IN over something other than literals")
        n = _n(c)
        if c.kind in ("array", "object"):
            raise Unsupported(f"IN over {c.kind}s")
        out = pa.repeat(False, n)
        for item in items:
            out = pc.or_(out, _compare("==", c, _const(item[1], n)))
        return Col("boolean", out, c.err, c.emp)


class _BodyRef(Col):
    """`.body` before anything is taken from it: fields come straight from the batch's columns."""

    def __init__(self, ev: Evaluator):
        super().__init__("object", None)
        self.ev = ev

    def __getattribute__(self, name):
        if name == "arr":
            body = object.__getattribute__(self, "ev")._body_struct()
            return body.arr
        return object.__getattribute__(self, name)


# --- comparisons -----------------------------------------------------------------------------------


def _compare(op: str, a: Col, b: Col) -> pa.Array:
    """jq's ordering: null < false < true < numbers < strings (bytewise) < arrays < objects."""
    n = _n(a)

    def rank(c: Col):
        if c.kind == "boolean":
            r = pc.if_else(c.arr, pa.scalar(2, pa.int8()), pa.scalar(1, pa.int8()))
            return pc.fill_null(r, pa.scalar(0, pa.int8()))
        if c.kind == "null":
            return pa.repeat(pa.scalar(0, pa.int8()), n)
        return pc.if_else(pc.is_valid(c.arr), pa.scalar(_RANK[c.kind], pa.int8()), pa.scalar(0, pa.int8()))

    fn = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal,
          ">": pc.greater, ">=": pc.greater_equal}[op]
    by_rank = fn(rank(a), rank(b))
    if a.kind != b.kind or a.kind in ("null", "boolean"):
        return by_rank
    av, bv = a.arr, b.arr
    if a.kind == "number":
        for c in (av, bv):
            if pa.types.is_integer(c.type) and len(c) and c.null_count < len(c):
                mm = pc.min_max(c)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                if max(abs(lo), abs(hi)) > _EXACT:
                    raise NeedJq("comparison of integers beyond 2^53")
        if av.type != bv.type:
            av, bv = av.cast(pa.float64()), bv.cast(pa.float64())
    both = pc.and_(pc.is_valid(av), pc.is_valid(bv))
    return pc.if_else(both, fn(av, bv), by_rank)


# --- formatting and parsing numbers through jq for the rare cases -------------------------------------

_JQ_ONE: dict[str, object] = {}


def _jq_each(program: str, texts: list[str]) -> list:
    """Run a tiny guarded jq program over JSON texts; each output a value or {"__e": message}."""
    prog = _JQ_ONE.get(program)
    if prog is None:
        prog = _JQ_ONE[program] = jq.compile(f'[try ({program}) catch {{"__e": .}}][0]')
    out = prog.input_text("\n".join(texts)).text()
    return [json.loads(line) for line in out.split("\n")] if texts else []


def _float_strings(arr: pa.Array) -> pa.Array:
    """jq 1.8's tostring of numbers read from JSON: the literal's text (as orjson wrote it), in
    decNumber's canonical form; texts without an exponent come out unchanged."""
    vals = arr.to_pylist()
    out = []
    odd: dict[int, str] = {}
    for i, v in enumerate(vals):
        if v is None:
            out.append(None)
            continue
        t = orjson.dumps(v).decode()
        if "e" in t or "E" in t:
            odd[i] = t
        out.append(t)
    if odd:
        idx = list(odd)
        for i, s in zip(idx, _jq_each("tostring", [odd[i] for i in idx])):
            out[i] = s
    return pa.array(out, pa.string())


def _tonumber_strings(c: Col) -> Col:
    """tonumber of strings through jq itself, once per distinct string."""
    enc = pc.dictionary_encode(c.arr)
    uniq = enc.dictionary.to_pylist()
    res = _jq_each("tonumber", [json.dumps(s, ensure_ascii=False) for s in uniq])
    msgs = []
    values = []
    for r in res:
        if isinstance(r, dict):
            msgs.append(r["__e"])
            values.append(None)
        else:
            if isinstance(r, float) and r.is_integer():
                r = int(r)
            if isinstance(r, int) and abs(r) > _EXACT:
                raise NeedJq("tonumber beyond 2^53")
            msgs.append(None)
            values.append(r)
    if any(isinstance(v, float) for v in values):
        raise NeedJq("tonumber giving fractions")  # jq keeps the literal text; we would not
    indices = enc.indices
    vals = pa.array(values, pa.int64()).take(indices)
    errs = pa.array(msgs, pa.string()).take(indices)
    ok = _ok(c)
    if ok is not None:
        errs = pc.if_else(ok, errs, pa.scalar(None, pa.string()))
    null_rows = pc.is_null(c.arr)
    errs = pc.if_else(null_rows, pa.scalar("null (null) cannot be parsed as a number"), errs)
    if ok is not None:
        errs = pc.if_else(ok, errs, pa.scalar(None, pa.string()))
    err = errs if c.err is None else pc.coalesce(c.err, errs)
    if pc.all(pc.is_null(err)).as_py():
        err = None
    return Col("number", vals, err, c.emp)


# --- regular expressions ---------------------------------------------------------------------------

_RE_SAFE = re.compile(r"""(?:[A-Za-z0-9 _\-@,:/=#%&'"!~<>;]|\\[.\-+*?()\[\]{}|^$/\\]|[.*+?()|]|\[\^?(?:[A-Za-z0-9_\-@.,:/ ]|\\[\]\[\\.\-])+\]|\{\d+(?:,\d*)?\})*""")


def _re2(regex: str) -> str:
    """A regex whose meaning is the same in Oniguruma (jq) and RE2 (Arrow), translated; else
    Unsupported. `^` only at the start; `$` only at the end (Perl syntax: it also matches before a
    final newline)."""
    body = regex
    start = body.startswith("^")
    if start:
        body = body[1:]
    end = body.endswith("$") and not body.endswith("\\$")
    if end:
        body = body[:-1]
    if not _RE_SAFE.fullmatch(body) or "(?" in body or "|" in body and (start or end):
        raise Unsupported(f"regex {regex!r} outside the portable subset")
    return ("^" if start else "") + body + ("\\n?$" if end else "")


# --- to Python values with jq's number output ---------------------------------------------------------


def _fix_numbers(v):
    """A nested value as jq writes it: integral doubles as integers, int64 beyond 2^53 rounded."""
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > _EXACT:
        return int(float(v))
    if isinstance(v, list):
        return [_fix_numbers(x) for x in v]
    if isinstance(v, dict):
        return {k: _fix_numbers(x) for k, x in v.items()}
    return v


def _has_numbers(t: pa.DataType) -> bool:
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_numbers(t.value_type)
    if pa.types.is_struct(t):
        return any(_has_numbers(t.field(i).type) for i in range(t.num_fields))
    return False


def to_python(c: Col, error_key: str) -> tuple[list, bool]:
    """Per row: the value, {error_key: message}, or None (no output); and whether any row is an error."""
    if isinstance(c, _BodyRef):
        c = Col("object", c.arr)
    _check_output(c)
    arr = c.arr
    t = arr.type
    if c.kind == "number" and pa.types.is_floating(t):
        integral = pc.fill_null(pc.equal(pc.floor(arr), arr), False)
        vals = arr.to_pylist()
        if pc.any(integral).as_py():
            for i in np.flatnonzero(integral.to_numpy(zero_copy_only=False)):
                vals[i] = int(vals[i])
    elif c.kind == "number":
        vals = arr.to_pylist()
        if len(arr) and arr.null_count < len(arr):
            mm = pc.min_max(arr)
            if max(abs(mm["min"].as_py()), abs(mm["max"].as_py())) > _EXACT:
                vals = [_fix_numbers(v) for v in vals]
    elif c.kind in ("array", "object") and _has_numbers(t):
        vals = [_fix_numbers(v) for v in arr.to_pylist()]
    else:
        vals = arr.to_pylist()
    errors = False
    if c.emp is not None:
        for i in np.flatnonzero(c.emp.to_numpy(zero_copy_only=False)):
            vals[i] = None
    if c.err is not None and c.err.null_count < len(c.err):
        errors = True
        msgs = c.err.to_pylist()
        for i, m in enumerate(msgs):
            if m is not None:
                vals[i] = {error_key: m}
    return vals, errors
