"""jq's comparison of two value columns, row by row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .columns import MAX_EXACT_INT, Col, NeedJq, n_rows

_RANK = {"null": 0, "boolean": 1, "number": 3, "string": 4, "array": 5, "object": 6}
_OPS = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal,
        ">": pc.greater, ">=": pc.greater_equal}


def compare(op: str, a: Col, b: Col) -> pa.Array:
    """jq's ordering: null < false < true < numbers < strings (bytewise) < arrays < objects."""
    n = n_rows(a)

    def rank(c: Col):
        if c.kind == "boolean":
            r = pc.if_else(c.arr, pa.scalar(2, pa.int8()), pa.scalar(1, pa.int8()))
            return pc.fill_null(r, pa.scalar(0, pa.int8()))
        if c.kind == "null":
            return pa.repeat(pa.scalar(0, pa.int8()), n)
        return pc.if_else(pc.is_valid(c.arr), pa.scalar(_RANK[c.kind], pa.int8()), pa.scalar(0, pa.int8()))

    fn = _OPS[op]
    by_rank = fn(rank(a), rank(b))
    if a.kind != b.kind or a.kind in ("null", "boolean"):
        return by_rank
    av, bv = a.arr, b.arr
    if a.kind == "number":
        for c in (av, bv):
            if pa.types.is_integer(c.type) and len(c) and c.null_count < len(c):
                mm = pc.min_max(c)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                if max(abs(lo), abs(hi)) > MAX_EXACT_INT:
                    raise NeedJq("comparison of integers beyond 2^53")
        if av.type != bv.type:
            av, bv = av.cast(pa.float64()), bv.cast(pa.float64())
    both = pc.and_(pc.is_valid(av), pc.is_valid(bv))
    return pc.if_else(both, fn(av, bv), by_rank)
