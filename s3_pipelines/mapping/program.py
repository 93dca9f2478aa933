"""One jq program per mapping: every expression of the mapping (filter, itemsToParse, identifier,
title, properties, relation leaves) evaluated in a single pass per record.

One program instead of one per expression: the per-call overhead of the jq library dominates small
expressions (a program per field per record runs about 4x slower). Each expression is guarded, so a
runtime error in one becomes an error marker in its slot instead of stopping the record; the
output is exactly one JSON value per input, which lets a batch of records run in one call.

Output per input (no itemsToParse):   [filter]  or  [true, slot0, slot1, ...]
Output per input (with itemsToParse): [items-error-or-non-array]  or  [true, <entity output>...]
"""

from __future__ import annotations

import json
import re

from .port_jq import port_to_jq

ERROR_KEY = "__s3p_jq_error__"
_USES_INPUT = re.compile(r"(?<![\w$.])inputs?(?!\w)")


def guard(expr: str) -> str:
    """First output of `expr`, null when it has none, {ERROR_KEY: message} when it fails. The
    newline ends a trailing `# comment` in the expression."""
    return f'([try ({port_to_jq(expr)}\n) catch {{"{ERROR_KEY}": .}}][0])'


def build_program(slots: list[str], filter_expr: str | None, items_expr: str | None, items_name: str) -> str:
    entity = "true" if filter_expr is None else guard(filter_expr)
    body = ", ".join(guard(s) for s in slots)
    defs = (f"def __s3p_entity: {entity} as $s3p_f | "
            f"if $s3p_f == true then [$s3p_f{', ' if body else ''}{body}] else [$s3p_f] end;\n")
    if items_expr is None:
        return defs + "__s3p_entity"
    name = json.dumps(items_name)
    return defs + (
        f"{guard(items_expr)} as $s3p_items\n"
        f'| if ($s3p_items | type) == "array" then '
        f"[true, ($s3p_items[] as $s3p_it | . + {{{name}: $s3p_it}} | __s3p_entity)] "
        f"else [$s3p_items] end"
    )


def uses_input(exprs: list[str]) -> bool:
    """`input`/`inputs` read the next input: such programs cannot run over a batch of records."""
    return any(_USES_INPUT.search(e) for e in exprs)
