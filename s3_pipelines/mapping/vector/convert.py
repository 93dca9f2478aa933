"""Conversions with jq's number semantics: columns to Python values as jq outputs them
(`to_python`), and `tostring`/`tonumber` cases handed to jq itself (floats in exponent form,
strings parsed as numbers)."""

from __future__ import annotations

import json

import jq
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import MAX_EXACT_INT, BodyRef, Col, NeedJq, check_output, value_rows

# --- formatting and parsing numbers through jq for the rare cases -------------------------------------

_JQ_ONE: dict[str, object] = {}


def _jq_each(program: str, texts: list[str]) -> list:
    """Run a tiny guarded jq program over JSON texts; each output a value or {"__e": message}."""
    prog = _JQ_ONE.get(program)
    if prog is None:
        prog = _JQ_ONE[program] = jq.compile(f'[try ({program}) catch {{"__e": .}}][0]')
    out = prog.input_text("\n".join(texts)).text()
    return [json.loads(line) for line in out.split("\n")] if texts else []


def tonumber_strings(c: Col) -> Col:
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
            if isinstance(r, int) and abs(r) > MAX_EXACT_INT:
                raise NeedJq("tonumber beyond 2^53")
            msgs.append(None)
            values.append(r)
    if any(isinstance(v, float) for v in values):
        raise NeedJq("tonumber giving fractions")  # jq keeps the literal text; we would not
    indices = enc.indices
    vals = pa.array(values, pa.int64()).take(indices)
    errs = pa.array(msgs, pa.string()).take(indices)
    ok = value_rows(c)
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


# --- to Python values with jq's number output ---------------------------------------------------------


def _fix_numbers(v):
    """A nested value as jq writes it: integral doubles as integers, int64 beyond 2^53 rounded."""
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_EXACT_INT:
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
    if isinstance(c, BodyRef):
        c = Col("object", c.arr)
    check_output(c)
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
            if max(abs(mm["min"].as_py()), abs(mm["max"].as_py())) > MAX_EXACT_INT:
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
