"""A parser for the subset of jq that the vectorized evaluator runs; anything else raises
`Unsupported` with the reason, and that expression stays with the jq engine.

The input is plain jq (Port's single-quoted literals already rewritten by `port_to_jq`) that jq
itself compiled, so the parser may be lenient about errors jq would have reported: it only has to
agree with jq's parse of valid programs. Precedence follows jq's grammar (lowest first):
`|`, `,`, `//`, `or`, `and`, comparisons, `+ -`, `* / %`, postfix.

AST nodes are tuples:
  ("identity",)  ("field", base, name)  ("index", base, int)  ("lit", value)
  ("obj", ((key, node), ...))  ("pipe", a, b)  ("alt", a, b)  ("and", a, b)  ("or", a, b)
  ("cmp", op, a, b)  ("add", a, b)  ("call", name, (args...))
"""

from __future__ import annotations

import json
import re

__all__ = ["Unsupported", "parse"]


class Unsupported(Exception):
    """This expression (or a part of it) is outside the vectorized subset; the message says why."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<field>\.[A-Za-z_][A-Za-z_0-9]*)
  | (?P<dotdot>\.\.)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*(?:::[A-Za-z_][A-Za-z_0-9]*)*)
  | (?P<op>//=|//|==|!=|<=|>=|\|=|\+=|-=|\*=|/=|%=|\?//|[.|,<>+\-*/%()\[\]{}:;?$@=])
""", re.VERBOSE)

_KEYWORDS = {"if", "then", "elif", "else", "end", "as", "def", "reduce", "foreach", "try", "catch",
             "label", "import", "include", "__loc__", "and", "or"}
# functions and their arities the evaluator knows
FUNCTIONS = {("tostring", 0), ("tonumber", 0), ("not", 0), ("ascii_downcase", 0), ("ascii_upcase", 0),
             ("length", 0), ("select", 1), ("split", 1), ("test", 1), ("has", 1), ("IN", 1), ("empty", 0)}
_MAX_EXACT = 2**53


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(f"unexpected {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        out.append((kind, m.group()))
    out.append(("eof", ""))
    return out


def _string(tok: str) -> str:
    if "\\(" in tok:
        raise Unsupported("string interpolation")
    try:
        return json.loads(tok)
    except ValueError:
        raise Unsupported("string escape") from None


def _number(tok: str):
    """A numeric literal whose value a double (or an exact integer) holds exactly as jq reads it."""
    if re.fullmatch(r"\d+", tok):
        v = int(tok)
        if v > _MAX_EXACT:
            raise Unsupported(f"number literal {tok} beyond 2^53")
        return v
    v = float(tok)
    if repr(v) != tok and not re.fullmatch(r"\d+\.0*", tok):
        raise Unsupported(f"number literal {tok} that a double does not hold exactly")
    return int(v) if v.is_integer() and abs(v) <= _MAX_EXACT else v


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> tuple[str, str]:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, value: str) -> None:
        t = self.take()
        if t[1] != value:
            raise Unsupported(f"expected {value!r}, found {t[1]!r}")

    def at(self, value: str) -> bool:
        t = self.peek()
        return t[0] in ("op", "ident") and t[1] == value

    # --- precedence levels -----------------------------------------------------------------------

    def pipe(self):
        left = self.comma()
        if self.at("|"):
            self.take()
            return ("pipe", left, self.pipe())
        return left

    def comma(self, allow: bool = False):
        left = self.alt()
        if self.at(","):
            if not allow:
                raise Unsupported("`,` (more than one output)")
            items = [left]
            while self.at(","):
                self.take()
                items.append(self.alt())
            return ("comma", tuple(items))
        return left

    def alt(self):
        left = self.or_()
        if self.at("//"):
            self.take()
            return ("alt", left, self.alt())
        for op in ("=", "|=", "+=", "-=", "*=", "/=", "%=", "//=", "?//"):
            if self.at(op):
                raise Unsupported(f"assignment `{op}`")
        return left

    def or_(self):
        left = self.and_()
        while self.at("or"):
            self.take()
            left = ("or", left, self.and_())
        return left

    def and_(self):
        left = self.cmp()
        while self.at("and"):
            self.take()
            left = ("and", left, self.cmp())
        return left

    def cmp(self):
        left = self.add()
        for op in ("==", "!=", "<=", ">=", "<", ">"):
            if self.at(op):
                self.take()
                return ("cmp", op, left, self.add())
        return left

    def add(self):
        left = self.mul()
        while True:
            if self.at("+"):
                self.take()
                left = ("add", left, self.mul())
            elif self.at("-"):
                raise Unsupported("`-` (arithmetic)")
            else:
                return left

    def mul(self):
        left = self.postfix()
        for op in ("*", "/", "%"):
            if self.at(op):
                raise Unsupported(f"`{op}` (arithmetic)")
        return left

    # --- terms -------------------------------------------------------------------------------------

    def postfix(self):
        node = self.term()
        while True:
            kind, val = self.peek()
            if kind == "field":
                self.take()
                node = ("field", node, val[1:])
            elif val == "." and kind == "op" and self.peek(1)[0] == "str":
                self.take()
                node = ("field", node, _string(self.take()[1]))
            elif val == "." and kind == "op" and self.peek(1)[1] == "[":
                self.take()
                node = self.bracket(node)
            elif val == "[" and kind == "op":
                node = self.bracket(node)
            elif val == "?" and kind == "op":
                raise Unsupported("`?` (error suppression)")
            elif kind == "ident" and val == "as":
                raise Unsupported("`as` bindings")
            else:
                return node

    def bracket(self, base):
        self.expect("[")
        if self.at("]"):
            raise Unsupported("`.[]` (iteration)")
        kind, val = self.take()
        neg = False
        if val == "-" and kind == "op":
            neg, (kind, val) = True, self.take()
        if kind == "str" and not neg:
            node = ("field", base, _string(val))
        elif kind == "num" and re.fullmatch(r"\d+", val):
            n = int(val)
            if n > 2**31:
                raise Unsupported("index too large")
            node = ("index", base, -n if neg else n)
        else:
            raise Unsupported("index that is not a literal string or integer (slices, expressions)")
        if not self.at("]"):
            raise Unsupported("slice or computed index")
        self.take()
        return node

    def term(self):
        kind, val = self.take()
        if kind == "field":
            return ("field", ("identity",), val[1:])
        if kind == "dotdot":
            raise Unsupported("`..` (recursion)")
        if kind == "num":
            return ("lit", _number(val))
        if kind == "str":
            return ("lit", _string(val))
        if kind == "op":
            if val == ".":
                nk, nv = self.peek()
                if nk == "str":
                    self.take()
                    return ("field", ("identity",), _string(nv))
                if nv == "[":
                    return self.bracket(("identity",))
                return ("identity",)
            if val == "(":
                node = self.pipe()
                self.expect(")")
                return node
            if val == "{":
                return self.obj()
            if val == "-":
                nk, nv = self.peek()
                if nk == "num":
                    self.take()
                    v = _number(nv)
                    return ("lit", -v)
                raise Unsupported("unary `-`")
            if val == "[":
                raise Unsupported("array construction `[...]`")
            if val == "$":
                raise Unsupported("variables (`$name`)")
            if val == "@":
                nk, nv = self.peek()
                raise Unsupported(f"format string @{nv}" if nk == "ident" else "format strings")
            raise Unsupported(f"unexpected {val!r}")
        if kind == "ident":
            if val in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[val])
            if val in _KEYWORDS:
                raise Unsupported(f"`{val}`")
            return self.call(val)
        raise Unsupported(f"unexpected {val!r}")

    def call(self, name: str):
        args = []
        if self.at("("):
            self.take()
            while True:
                args.append(self.comma(allow=True) if name == "IN" else self.pipe())
                if self.at(";"):
                    self.take()
                    continue
                self.expect(")")
                break
        if (name, len(args)) not in FUNCTIONS:
            raise Unsupported(f"function {name}/{len(args)}")
        return ("call", name, tuple(args))

    def obj(self):
        pairs = []
        if self.at("}"):
            self.take()
            return ("obj", ())
        while True:
            kind, val = self.take()
            if kind == "ident":
                key = val
            elif kind == "str":
                key = _string(val)
            else:
                raise Unsupported("object key that is not a name or a literal string")
            if not self.at(":"):
                raise Unsupported("object shorthand `{name}`")
            self.take()
            value = self.objval()
            if key in dict(pairs):
                raise Unsupported(f"duplicate object key {key!r}")
            pairs.append((key, value))
            if self.at(","):
                self.take()
                continue
            self.expect("}")
            return ("obj", tuple(pairs))

    def objval(self):
        # jq: ObjVal is a pipe of terms (with unary minus); anything else needs parentheses
        node = self.postfix() if not self.at("-") else self.term()
        while self.at("|"):
            self.take()
            node = ("pipe", node, self.postfix())
        if not (self.at(",") or self.at("}")):
            raise Unsupported("object value syntax")
        return node


def parse(text: str):
    """The AST of a (plain jq) expression in the supported subset, else Unsupported."""
    p = _Parser(text)
    node = p.pipe()
    if p.peek()[0] != "eof":
        raise Unsupported(f"unexpected {p.peek()[1]!r}")
    return node
