"""A mapping expression checked on its own, with problems in the user's terms.

DuckDB's messages describe the statement it was given: our SELECT around the expression, the
Polaris macros' bodies, the `s3p_` helpers and the `__input` relation, with a `LINE 1:` echo of all
of it. The user wrote only the expression, so each message is rewritten to name what is in it
(`unknown column `prise` (did you mean `price`?)`), keeping DuckDB's suggestions, and a message
that would still show our SQL is replaced by a plain one.
"""

from __future__ import annotations

import difflib
import json
import re

import duckdb

from ..config.tables import paren_depth
from .macros import INTERNAL_PREFIX, SIGNATURES, is_period

# names only our generated SQL uses: a message holding one is about our SQL, not the user's
INTERNAL = (INTERNAL_PREFIX, "__input", "__s3p", "__projected", "__partials", "LINE ")
AGGREGATE_FORM = "one of MAX(expr), MIN(expr), SUM(expr), COUNT(*), COUNT(expr)"


def one_line(text: str, width: int = 120) -> str:
    """The user's expression on one line (a problem is one line), shortened when long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def compile_expression(con: duckdb.DuckDBPyConnection, expression: str, columns: list[str]) -> tuple[str | None, str | None]:
    """(DuckDB type name, None) or (None, what is wrong). `__input` must be registered on `con`
    with the declared input columns. The WHERE copy rejects aggregates and window functions inside
    an expression, which would silently collapse the rows."""
    problem = syntax_problem(con, expression)
    if problem:
        return None, problem + _keyword_hint(con, expression, columns)
    tree = _tree(con, expression)
    problem = _static_problem(con, tree, expression)
    if problem:
        return None, problem
    try:
        rel = con.sql(f"SELECT (\n{expression}\n) AS v FROM __input WHERE ((\n{expression}\n) IS NULL) OR TRUE")
        return str(rel.types[0]), None
    except duckdb.Error as e:
        return None, explain(con, e, expression, columns, tree)


def syntax_problem(con: duckdb.DuckDBPyConnection, expression: str) -> str | None:
    """A parse error of the expression alone. It is parsed inside parentheses, on lines of its own,
    so an alias, a `;` or a FROM is an error and DuckDB's line number tells whether it is in the
    user's text or at our closing parenthesis (the expression ended too early)."""
    try:
        con.extract_statements(f"SELECT (\n{expression}\n)")
        return None
    except duckdb.Error as e:
        head, line = _head(e), _error_line(e)
    near = re.match(r'syntax error at or near "(.*)"$', head)
    if line is not None and line >= expression.count("\n") + 3:  # at our closing parenthesis
        if paren_depth(expression) < 0:
            return "syntax error: a `)` closes nothing"
        try:  # bare, DuckDB names the user's last token that left the expression unfinished
            con.extract_statements(f"SELECT \n{expression}\n")
            return "syntax error: the expression is incomplete"
        except duckdb.Error as bare:
            near = re.match(r'syntax error at or near "(.*)"$', _head(bare))
        tail = f" after `{near.group(1)}`" if near else ""
        return f"syntax error: the expression is incomplete (it ends{tail})"
    if near:
        return f"syntax error near `{near.group(1)}`"
    return _plain(head, "syntax error")


def explain(con, error: duckdb.Error, expression: str, columns: list[str], tree: dict | None = None) -> str:
    """DuckDB's error about `expression` in the user's terms."""
    head, full = _head(error), str(error)
    if "WHERE clause cannot contain" in head:
        return f"an aggregate or window function inside an expression; an aggregate mapping is exactly {AGGREGATE_FORM}"
    m = re.match(r'Referenced column "(.+?)" not found', head)
    if m:
        return _unknown_column(m.group(1), full, columns)
    m = re.match(r"(Scalar|Aggregate|Table) Function with name (\S+) does not exist", head)
    if m:
        name = _as_written(m.group(2), expression)
        if m.group(2).lower().startswith(INTERNAL_PREFIX):
            return f"unknown function `{name}`"
        return f"unknown function `{name}`{_suggestion(full, name)}"
    m = re.match(r"Type with name (\S+) does not exist", head)
    if m:
        return f"unknown type `{m.group(1)}`{_suggestion(full, m.group(1))}"
    calls = _calls(tree)
    m = re.match(r"No function matches the given name and argument types '(.+?)\((.*)\)'", head)
    if m and m.group(1).lower() in {n for n, _ in calls}:
        name, types = _as_written(m.group(1), expression), _types(m.group(2))
        if not re.match(r"\w", name):  # an operator: its candidates are every numeric type
            return f"operator `{name}` cannot take ({types}); CAST an operand to the type you mean"
        takes = [ln.strip() for ln in full.split("Candidate functions:", 1)[-1].splitlines()[1:] if ln.strip()] \
            if "Candidate functions:" in full else []
        return f"`{name}` cannot take ({types})" + (f"; it takes {' | '.join(takes[:3])}" if takes else "")
    polaris = _failing_polaris_call(con, expression, calls)
    if polaris:
        return polaris
    return _plain(head, "DuckDB cannot compile it")


def runtime_message(error: Exception) -> str:
    """An error met while evaluating the mappings over data, without the echo of our SQL."""
    return _plain(_head(error) if isinstance(error, duckdb.Error) else str(error).strip().splitlines()[0],
                  type(error).__name__)


# --- pieces -------------------------------------------------------------------------------------


def _head(error: Exception) -> str:
    """The message's first line, without DuckDB's `Binder Error: ` kind."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"^[A-Za-z ]*Error: ", "", first).strip()


def _error_line(error: Exception) -> int | None:
    m = re.search(r"^LINE (\d+):", str(error), re.MULTILINE)
    return int(m.group(1)) if m else None


def _plain(message: str, fallback: str) -> str:
    """The message unless it names our SQL; then only what it is about."""
    if any(token in message for token in INTERNAL):
        return fallback
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _keyword_hint(con, expression: str, columns: list[str]) -> str:
    """Input columns named like an SQL keyword (`at`, `order`) parse only when quoted."""
    words = set(re.findall(r"[A-Za-z_]\w*", re.sub(r"'[^']*'|\"[^\"]*\"", " ", expression)))
    named = {w.lower(): w for w in words if w in columns}
    if not named:
        return ""
    keywords = {k for (k,) in con.execute("SELECT keyword_name FROM duckdb_keywords() "
                                          "WHERE keyword_category <> 'unreserved'").fetchall()}
    found = [named[k] for k in sorted(named) if k in keywords]
    return "".join(f' (`{w}` is an SQL keyword: write the column as "{w}")' for w in found[:1])


def _unknown_column(name: str, full: str, columns: list[str]) -> str:
    bindings = re.search(r"Candidate bindings: (.*)", full)
    duck = re.findall(r'"([^"]+)"', bindings.group(1)) if bindings else []
    # DuckDB's candidates first, but only input columns (not our provenance) that look alike
    close = [c for c in [c for c in duck if c in columns] + columns
             if difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio() >= 0.5]
    if close:
        return f"unknown column `{name}` (did you mean `{close[0]}`?)"
    return f"unknown column `{name}`; the input columns are {', '.join(f'`{c}`' for c in columns) or 'none'}"


def _suggestion(full: str, written: str) -> str:
    m = re.search(r'Did you mean "(.+?)"', full)
    if not m or m.group(1).lower().startswith(INTERNAL_PREFIX):
        return ""
    hint = m.group(1).upper() if written.isupper() else m.group(1)
    return f" (did you mean `{hint}`?)"


def _as_written(name: str, expression: str) -> str:
    """DuckDB lower-cases names; the user's own spelling reads better."""
    m = re.search(re.escape(name), expression, re.IGNORECASE)
    return m.group(0) if m else name


def _types(text: str) -> str:
    return re.sub(r"\b(INTEGER|STRING|DECIMAL)_LITERAL\b", lambda m: {"STRING": "VARCHAR"}.get(m.group(1), m.group(1)), text)


def _tree(con, expression: str) -> dict | None:
    """DuckDB's parse tree of `SELECT (<expression>)`, or None when this DuckDB cannot give it."""
    try:
        out = json.loads(con.execute("SELECT json_serialize_sql(?)", [f"SELECT (\n{expression}\n)"]).fetchall()[0][0])
        return None if out.get("error") else out["statements"][0]["node"]["select_list"][0]
    except (duckdb.Error, KeyError, IndexError, TypeError, ValueError):
        return None


def _nodes(node):
    if isinstance(node, dict):
        if "class" in node:
            yield node
        for v in node.values():
            yield from _nodes(v)
    elif isinstance(node, list):
        for v in node:
            yield from _nodes(v)


def _calls(tree) -> list[tuple[str, dict]]:
    return [(n.get("function_name", "").lower(), n) for n in _nodes(tree) if n["class"] == "FUNCTION"]


def _args(node: dict) -> list[dict]:
    return [a.get("expression", a) if isinstance(a, dict) else a for a in node.get("arguments") or node.get("children") or []]


PREFIX = len("SELECT (\n")  # where the expression starts in the parsed text


def _text(node: dict, expression: str) -> str | None:
    start, length = node.get("query_location"), node.get("query_location_length")
    if not isinstance(start, int) or not length or start < PREFIX:
        return None
    return expression[start - PREFIX:start - PREFIX + length]


# literal arguments of the Polaris functions that fail only once rows arrive: (position, kind)
LITERAL_ARGS = {"time_floor": ((1, "period"), (2, "origin"), (3, "timezone")),
                "time_ceil": ((1, "period"), (2, "origin"), (3, "timezone")),
                "time_parse": ((2, "timezone"),), "time_format": ((2, "timezone"),)}


def _static_problem(con, tree, expression: str) -> str | None:
    """What binds in DuckDB but cannot be a mapping: a subquery, our helpers, a literal period,
    origin or time zone that is not one (it would fail only when rows arrive)."""
    for n in _nodes(tree):
        if n["class"] == "SUBQUERY":
            return "a subquery is not a mapping: an expression reads the columns of one input row"
    for name, n in _calls(tree):
        if name.startswith(INTERNAL_PREFIX):
            return f"unknown function `{_as_written(name, expression)}`"
        args = _args(n)
        for i, kind in LITERAL_ARGS.get(name, ()):
            text = _string_literal(args[i]) if i < len(args) else None
            if text is not None and not _literal_ok(con, kind, text):
                return f"{_as_written(name, expression)}: '{text}' is not {LITERAL_RULES[kind]}"
    return None


LITERAL_RULES = {"period": "an ISO-8601 period (e.g. 'PT15M', 'PT1H', 'P1D', 'P1W', 'P1M')",
                 "origin": "a timestamp (e.g. '2024-01-01T00:00:00Z')",
                 "timezone": "a time zone name (e.g. 'UTC', 'America/Los_Angeles')"}


def _string_literal(node: dict) -> str | None:
    literal = node.get("literal") or node.get("value") if node.get("class") == "CONSTANT" else None
    if isinstance(literal, dict) and literal.get("kind") in ("STRING", "VARCHAR") and isinstance(literal.get("text"), str):
        return literal["text"]
    return None


def _literal_ok(con, kind: str, text: str) -> bool:
    if kind == "period":
        return is_period(text)
    # what the macros do with the value (macros.py), tried once on the literal
    sql = "SELECT CAST(? AS TIMESTAMPTZ)" if kind == "origin" else "SELECT timezone(?, TIMESTAMPTZ '2000-01-01')"
    try:
        con.execute(sql, [text]).fetchall()
        return True
    except duckdb.Error:
        return False


def _failing_polaris_call(con, expression: str, calls) -> str | None:
    """An error from inside a Polaris function's macro: the innermost call of the user's that fails
    alone, named with its signature."""
    polaris = [(name, _text(node, expression)) for name, node in calls if name in SIGNATURES]
    for name, text in reversed(polaris):  # the parse tree lists outer calls first
        if text is None:  # no location from this DuckDB: name the function only
            return f"the arguments of {name.upper()} do not fit {SIGNATURES[name]}"
        try:
            con.sql(f"SELECT (\n{text}\n) FROM __input").types
        except duckdb.Error:
            call = "" if text.strip() == expression.strip() else f"`{one_line(text, 60)}`: "
            return f"{call}the arguments do not fit {SIGNATURES[name]}"
    return None
