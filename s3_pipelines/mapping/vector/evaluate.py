"""Evaluate a parsed jq expression (see parse.py) over a whole Arrow batch at once, with jq's
semantics row by row.

Values are columns (`Col`, columns.py) with per-row states (an error or no output). Evaluation of
an empty batch with a schema is the static check: anything jq would do differently for some kind
of value raises `Unsupported`. Data-dependent cases that are rare and hard to reproduce exactly
(an error message quoting a value, an integer beyond 2^53 in a comparison, a float formatted by
`tostring` in exponent form) raise `NeedJq` at run time and the expression goes to the jq engine
for that batch.

Order of evaluation follows jq: a binary operator evaluates its right operand first (so its
error wins), object construction and `and`/`or` go left to right, and (jq 1.8) an error on the left of `//` propagates.

The evaluator dispatches on the AST node's tag (`_<tag>` methods); built-in functions are in
builtins.py, jq's ordering in compare.py, conversions to Python values in convert.py.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .builtins import BUILTINS
from .columns import (BodyRef, Col, NeedJq, add_error, any_value_row, check_nested, check_output, constant,
                      exact_shape, has_struct, json_name, n_rows, non_null, normalize, then_state, truthy,
                      value_rows)
from .compare import compare
from .parse import Unsupported

__all__ = ["Evaluator"]


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
        out = self.ev(node, Col("root", None))
        return exact_shape(self._body_struct() if isinstance(out, BodyRef) else out)

    @staticmethod
    def _read(kind: str, arr: pa.Array, err=None, emp=None) -> Col:
        """A value read from the record's columns (see Col.union)."""
        return Col(kind, arr, err, emp, union=has_struct(arr.type))

    # body fields straight from the batch; the whole body only when asked for
    def _body_field(self, name: str) -> Col:
        if name == "_PORT_SOURCE_OBJECT_KEY":
            return constant(self.key, self.n)
        schema = self.batch.schema
        idx = schema.get_field_index(name) if name not in self.hidden else -1
        if idx < 0:
            return Col("null", pa.nulls(self.n))
        kind, arr = normalize(self._column(idx), schema.field(idx))
        return self._read(kind, arr)

    def _body_struct(self) -> Col:
        if self._body is None:
            schema = self.batch.schema
            names, arrays = [], []
            for i, f in enumerate(schema):
                if f.name in self.hidden:
                    continue
                normalize(self._column(i), f)
                check_nested(f)
                names.append(f.name)
                arrays.append(self._column(i))
            names.append("_PORT_SOURCE_OBJECT_KEY")
            arrays.append(pa.repeat(pa.scalar(self.key, pa.string()), self.n))
            self._body = Col("object", pa.StructArray.from_arrays(arrays, names=names), union=True)
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
                return BodyRef(self)
            if name in ("headers", "queryParams"):
                raise Unsupported(f"`.{name}`")
            return Col("null", pa.nulls(self.n))
        if isinstance(base, BodyRef):
            return self._body_field(name)
        return self.field_of(base, name)

    def field_of(self, base: Col, name: str) -> Col:
        n = n_rows(base)
        if base.kind == "null":
            return Col("null", pa.nulls(n), base.err, base.emp)
        if base.kind == "object":
            t = base.arr.type
            idx = t.get_field_index(name)
            if idx < 0:
                return Col("null", pa.nulls(n), base.err, base.emp)
            child = pc.struct_field(base.arr, [idx])
            kind, child = normalize(child, t.field(idx))
            return self._read(kind, child, base.err, base.emp)
        # jq: indexing a string/number/boolean/array by name is an error (null stays null)
        shown = json_name(name)
        if len(shown) > 20:  # jq truncates long names in the message
            if any_value_row(non_null(base), base):
                raise NeedJq("long field name in an error message")
        msg = f"Cannot index {base.kind} with string ({shown})"
        return Col("null", pa.nulls(n), add_error(base, non_null(base), msg), base.emp)

    def _index(self, node, ctx):
        base = self.ev(node[1], ctx)
        if isinstance(base, BodyRef) or base.kind == "root":
            raise Unsupported("indexing the input by number")
        i = node[2]
        n = n_rows(base)
        if base.kind == "null":
            return Col("null", pa.nulls(n), base.err, base.emp)
        if base.kind != "array":
            msg = f"Cannot index {base.kind} with number ({i})"
            return Col("null", pa.nulls(n), add_error(base, non_null(base), msg), base.emp)
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
        kind, child = normalize(child, arr.type.value_field)
        return self._read(kind, child, base.err, base.emp)

    # --- literals and construction ---------------------------------------------------------------------

    def _lit(self, node, ctx):
        return constant(node[1], self.n if ctx.arr is None else n_rows(ctx))

    def _obj(self, node, ctx):
        n = self.n if ctx.arr is None else n_rows(ctx)
        names, arrays = [], []
        state = Col("null", pa.nulls(n))
        for key, sub in node[1]:
            v = self.ev(sub, ctx)
            if isinstance(v, BodyRef):
                v = self._body_struct()
            check_output(v)
            err, emp = then_state(state, v)
            state = Col("null", state.arr, err, emp)
            names.append(key)
            arrays.append(v.arr)
        if not names:
            raise Unsupported("empty object literal")
        return Col("object", pa.StructArray.from_arrays(arrays, names=names), state.err, state.emp)

    # --- operators ----------------------------------------------------------------------------------

    def value(self, node, ctx) -> Col:
        v = self.ev(node, ctx)
        if isinstance(v, BodyRef):
            return exact_shape(self._body_struct())
        if v.kind == "root":
            raise Unsupported("the whole input (`.`) as a value")
        return exact_shape(v)

    def _pipe(self, node, ctx):
        a = self.ev(node[1], ctx)
        b = self.ev(node[2], a)
        if isinstance(b, BodyRef) or b.kind == "root":
            return b
        err, emp = then_state(a, b) if not (isinstance(a, BodyRef) or a.kind == "root") else (b.err, b.emp)
        return Col(b.kind, b.arr, err, emp, union=b.union)

    def _alt(self, node, ctx):
        a = self.value(node[1], ctx)
        b = self.value(node[2], ctx)
        ok = value_rows(a)
        pick = truthy(a) if ok is None else pc.and_(ok, truthy(a))
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
        ta = truthy(a)
        decided = pc.invert(ta) if is_and else ta  # the left side settles the result
        ok = value_rows(a)
        if ok is not None:
            decided = pc.and_(decided, ok)
        tb = truthy(b)
        arr = pc.if_else(decided, pa.scalar(not is_and), tb)
        # state: a's first, then b's where a did not decide
        b_state = Col("boolean", arr,
                      None if b.err is None else pc.if_else(decided, pa.scalar(None, pa.string()), b.err),
                      None if b.emp is None else pc.and_(pc.invert(decided), b.emp))
        err, emp = then_state(a, b_state)
        return Col("boolean", arr, err, emp)

    def _cmp(self, node, ctx):
        op = node[1]
        b = self.value(node[3], ctx)  # jq evaluates the right operand first
        a = self.value(node[2], ctx)
        err, emp = then_state(b, a)
        for c in (a, b):
            if c.kind in ("array", "object"):
                raise Unsupported(f"comparing {c.kind}s")
        arr = compare(op, a, b)
        return Col("boolean", arr, err, emp)

    def _add(self, node, ctx):
        b = self.value(node[2], ctx)
        a = self.value(node[1], ctx)
        err, emp = then_state(b, a)
        kinds = {a.kind, b.kind} - {"null"}
        if kinds and kinds != {"string"}:
            raise Unsupported(f"`+` of {a.kind} and {b.kind} values")
        if not kinds:
            return Col("null", pa.nulls(n_rows(a)), err, emp)
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
            err, emp = then_state(c, cond)
            drop = pc.invert(truthy(cond))
            emp = drop if emp is None else pc.or_(emp, drop)
            return Col(c.kind, c.arr, err, emp)
        if name == "empty":
            n = self.n if ctx.arr is None else n_rows(ctx)
            return Col("null", pa.nulls(n), None, pa.repeat(True, n))
        c = self.value(("identity",), ctx)
        return BUILTINS[name](c, args)
