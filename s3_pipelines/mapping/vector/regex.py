"""Regular expressions that mean the same in Oniguruma (jq) and RE2 (Arrow)."""

from __future__ import annotations

import re

from .parse import Unsupported

_RE_SAFE = re.compile(r"""(?:[A-Za-z0-9 _\-@,:/=#%&'"!~<>;]|\\[.\-+*?()\[\]{}|^$/\\]|[.*+?()|]|\[\^?(?:[A-Za-z0-9_\-@.,:/ ]|\\[\]\[\\.\-])+\]|\{\d+(?:,\d*)?\})*""")


def to_re2(regex: str) -> str:
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
