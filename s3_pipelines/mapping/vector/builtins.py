"""jq built-ins over a value column: each takes the input column and the call's argument ASTs and
returns the output column. `BUILTINS` maps a name (as parse.FUNCTIONS admits it) to its function;
`select` and `empty` are the evaluator's own (they evaluate an argument or make no output).

A new built-in is a function here plus one line in `BUILTINS` (and its name in parse.FUNCTIONS)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .columns import Col, NeedJq, add_error, any_value_row, constant, n_rows, non_null, truthy
from .compare import compare
from .convert import tonumber_strings
from .parse import Unsupported
from .regex import to_re2


def _literal_arg(args, i, what: str, kinds=(str,)):
    a = args[i]
    if a[0] != "lit" or not isinstance(a[1], kinds) or isinstance(a[1], bool) and bool not in kinds:
        raise Unsupported(f"{what} with an argument that is not a literal")
    return a[1]


def _not(c, args):
    return Col("boolean", pc.invert(truthy(c)), c.err, c.emp)


def _tostring(c, args):
    n = n_rows(c)
    if c.kind == "string":
        return Col("string", pc.fill_null(c.arr, "null"), c.err, c.emp)
    if c.kind == "null":
        return Col("string", pa.repeat(pa.scalar("null"), n), c.err, c.emp)
    if c.kind == "boolean":
        arr = pc.if_else(c.arr, pa.scalar("true"), pa.scalar("false"))
        return Col("string", pc.if_else(pc.is_valid(c.arr), arr, pa.scalar("null")), c.err, c.emp)
    if c.kind == "number":
        if not pa.types.is_integer(c.arr.type):  # 1.50 and 1e3 stay "1.50" and "1E+3" in jq 1.8
            raise Unsupported("tostring of numbers with a fraction or exponent (jq keeps their literal text)")
        arr = pc.cast(c.arr, pa.string())
        return Col("string", pc.fill_null(arr, "null"), c.err, c.emp)
    raise Unsupported(f"tostring of {c.kind}s (jq's own JSON formatting)")


def _tonumber(c, args):
    if c.kind == "number":
        return Col("number", c.arr, add_error(c, pc.is_null(c.arr), "null (null) cannot be parsed as a number"), c.emp)
    if c.kind == "string":
        return tonumber_strings(c)
    if c.kind == "null":
        return Col("null", c.arr, add_error(c, pa.repeat(True, n_rows(c)),
                                            "null (null) cannot be parsed as a number"), c.emp)
    raise Unsupported(f"tonumber of {c.kind}s")


def _ascii_downcase(c, args):
    return _ascii(c, pc.ascii_lower)


def _ascii_upcase(c, args):
    return _ascii(c, pc.ascii_upper)


def _ascii(c, fn):
    msg = "explode input must be a string"
    if c.kind == "string":
        return Col("string", fn(c.arr), add_error(c, pc.is_null(c.arr), msg), c.emp)
    return Col("null", pa.nulls(n_rows(c)), add_error(c, pa.repeat(True, n_rows(c)), msg), c.emp)


def _length(c, args):
    n = n_rows(c)
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
        if pa.types.is_integer(arr.type) and any_value_row(pc.is_null(arr), Col("number", c.arr)):
            raise NeedJq("length of the smallest int64")
    elif c.kind == "boolean":
        msg = pc.if_else(c.arr, pa.scalar("boolean (true) has no length"), pa.scalar("boolean (false) has no length"))
        return Col("number", pa.repeat(pa.scalar(0, pa.int64()), n),
                   add_error(c, pc.is_valid(c.arr), msg), c.emp)
    else:
        raise Unsupported(f"length of {c.kind}s")
    arr = pc.if_else(nulls, pa.scalar(0, arr.type), arr)
    return Col("number", arr, c.err, c.emp)


def _split(c, args):
    sep = _literal_arg(args, 0, "split")
    if not sep:
        raise Unsupported('split("")')
    msg = "split input and separator must be strings"
    n = n_rows(c)
    if c.kind != "string":
        return Col("null", pa.nulls(n), add_error(c, pa.repeat(True, n), msg), c.emp)
    parts = pc.split_pattern(c.arr, sep)
    empty = pc.equal(c.arr, "")
    if pc.any(pc.fill_null(empty, False)).as_py():  # jq: "" | split(",") is []
        parts = pc.if_else(empty, pa.scalar([], parts.type), parts)
    return Col("array", parts, add_error(c, pc.is_null(c.arr), msg), c.emp)


def _test(c, args):
    regex = to_re2(_literal_arg(args, 0, "test"))
    n = n_rows(c)
    if c.kind == "string":
        arr = pc.match_substring_regex(c.arr, regex)
        return Col("boolean", arr, add_error(c, pc.is_null(c.arr), "null (null) cannot be matched, as it is not a string"), c.emp)
    if c.kind == "null":
        return Col("null", c.arr, add_error(c, pa.repeat(True, n), "null (null) cannot be matched, as it is not a string"), c.emp)
    if c.kind == "boolean":
        msg = pc.if_else(pc.fill_null(c.arr, False), pa.scalar("boolean (true) cannot be matched, as it is not a string"),
                         pa.scalar("boolean (false) cannot be matched, as it is not a string"))
        msg = pc.if_else(pc.is_null(c.arr), pa.scalar("null (null) cannot be matched, as it is not a string"), msg)
        return Col("null", pa.nulls(n), add_error(c, pa.repeat(True, n), msg), c.emp)
    if any_value_row(non_null(c), c):
        raise NeedJq(f"test on {c.kind}s (the message quotes the value)")
    return Col("null", pa.nulls(n), add_error(c, pa.repeat(True, n), "null (null) cannot be matched, as it is not a string"), c.emp)


def _has(c, args):
    key = _literal_arg(args, 0, "has")
    n = n_rows(c)
    if c.kind == "object":
        present = c.arr.type.get_field_index(key) >= 0
        return Col("boolean", pc.if_else(pc.is_valid(c.arr), pa.scalar(present), pa.scalar(False)), c.err, c.emp)
    if c.kind == "null":
        return Col("boolean", pa.repeat(False, n), c.err, c.emp)
    msg = f"Cannot check whether {c.kind} has a string key"
    return Col("boolean", pa.repeat(False, n), add_error(c, non_null(c), msg), c.emp)


def _in(c, args):
    arg = args[0]
    items = arg[1] if arg[0] == "comma" else (arg,)
    if not items or any(i[0] != "lit" for i in items):
        raise Unsupported("IN over something other than literals")
    n = n_rows(c)
    if c.kind in ("array", "object"):
        raise Unsupported(f"IN over {c.kind}s")
    out = pa.repeat(False, n)
    for item in items:
        out = pc.or_(out, compare("==", c, constant(item[1], n)))
    return Col("boolean", out, c.err, c.emp)


BUILTINS = {
    "not": _not,
    "tostring": _tostring,
    "tonumber": _tonumber,
    "ascii_downcase": _ascii_downcase,
    "ascii_upcase": _ascii_upcase,
    "length": _length,
    "split": _split,
    "test": _test,
    "has": _has,
    "IN": _in,
}
