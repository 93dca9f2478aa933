"""An independent oracle for Port mappings: the `jq` command-line program (Debian's jq, a separate
implementation path from the `jq` Python package the engine links) evaluates every expression of a
mapping over the records, and plain Python applies Port's rules (filter must be true, itemsToParse
binds `.item`, create merges given fields, a later record wins).

Expressions are evaluated one `jq` process per expression over all inputs (NDJSON in, one line out
per input), each guarded so an error becomes a marker instead of ending the stream."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

ERROR = "__oracle_error__"
_QUOTED = re.compile(r"^\s*'([^'\\]*)'\s*$")  # Port's single-quoted string literal


def require_jq() -> str:
    path = shutil.which("jq")
    if path is None:
        pytest.skip("the jq command-line program is not installed (Debian package jq; .ci/run installs it)")
    return path


def as_jq(expr: str) -> str:
    """Port accepts a whole expression written as a single-quoted string ('and'); jq does not."""
    m = _QUOTED.match(expr)
    return json.dumps(m.group(1)) if m else expr


def jq_first(expr: str, inputs: list) -> list:
    """The first output of `expr` for each input (None when it has none; {ERROR: msg} on error)."""
    if not inputs:
        return []
    program = f'try ([{as_jq(expr)}\n] | .[0]) catch {{"{ERROR}": .}}'
    stdin = "\n".join(json.dumps(i) for i in inputs)
    out = subprocess.run([require_jq(), "-c", program], input=stdin, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == len(inputs), (expr, out[:500])
    return [json.loads(line) for line in lines]


def is_error(v) -> bool:
    return isinstance(v, dict) and set(v) == {ERROR}


def _leaves(value, path=()):
    """(path, expression) of every string leaf of a relation mapping (search objects included)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))


def _put(shape, path, v):
    if not path:
        return v
    head, rest = path[0], path[1:]
    if isinstance(shape, dict):
        return {**shape, head: _put(shape[head], rest, v)}
    out = list(shape)
    out[head] = _put(shape[head], rest, v)
    return out


def entity_writes(mapping: dict, records: list[dict], key: str, first=None) -> tuple[list[dict], int]:
    """What one object's records ask of the catalog under `mapping`, in record order:
    [{blueprint, identifier, error?, title?, icon?, team?, properties, relations}], and how many
    records (or items) the filter dropped. `first` evaluates an expression (default `jq_first`;
    `JqCache.first` answers from one `jq` run over many objects)."""
    first = first or jq_first
    inputs = [{"body": {**r, "_PORT_SOURCE_OBJECT_KEY": key}, "headers": {}, "queryParams": {}} for r in records]
    failed = []  # (input index, message): the record (or item) makes a failure, not an entity
    items_expr = mapping.get("itemsToParse")
    if items_expr:
        name = mapping.get("itemsToParseName", "item")
        expanded = []
        for inp, items in zip(inputs, first(items_expr, inputs)):
            if isinstance(items, list):
                expanded += [{**inp, name: it} for it in items]
            elif items is not None:  # an error, or not an array
                failed.append((len(expanded), f"itemsToParse: {items}"))
                expanded.append(None)
        inputs = expanded
    live = [i for i in inputs if i is not None]
    verdicts = iter(first(mapping["filter"], live) if mapping.get("filter") else [True] * len(live))
    keep = []
    for i, inp in enumerate(inputs):
        if inp is None:
            keep.append(False)
            continue
        v = next(verdicts)
        if is_error(v):
            failed.append((i, f"filter: {v[ERROR]}"))
        keep.append(v is True)
    dropped = len(inputs) - sum(keep) - len(failed)
    kept = [i for i, k in zip(inputs, keep) if k]
    ent = mapping["entity"]
    fields: list[tuple[tuple, str]] = [(("identifier",), ent["identifier"])]
    fields += [((f,), ent[f]) for f in ("title", "icon", "team") if ent.get(f) is not None]
    fields += [(("properties", p), e) for p, e in ent.get("properties", {}).items()]
    for rel, shape in ent.get("relations", {}).items():
        fields += [(("relations", rel) + path, e) for path, e in _leaves(shape)]
    values = {path: first(expr, kept) for path, expr in fields}
    made = []
    for n in range(len(kept)):
        w = {"blueprint": mapping["blueprint"], "properties": {}, "relations": {}}
        rels = {r: s for r, s in ent.get("relations", {}).items()}
        for path, _ in fields:
            v = values[path][n]
            if is_error(v):
                w["error"] = f"{'.'.join(map(str, path))}: {v[ERROR]}"
            if path[0] == "relations":
                rels[path[1]] = _put(rels[path[1]], path[2:], v)
            elif len(path) == 1:
                w[path[0]] = v
            else:
                w["properties"][path[1]] = v
        w["relations"] = rels
        made.append(w)
    # back into input order, failures of whole records (or items) in their place
    made_iter, fail_at = iter(made), dict(failed)
    writes = []
    for i, k in enumerate(keep):
        if i in fail_at:
            writes.append({"blueprint": mapping["blueprint"], "error": fail_at[i]})
        elif k:
            writes.append(next(made_iter))
    return writes, dropped


def fold_creates(writes: list[dict]) -> dict[tuple[str, str], dict]:
    """Port `create`: the first write of an entity creates it, later ones merge the fields they
    give (a later record wins); entities as `catalog export` prints them."""
    out: dict[tuple[str, str], dict] = {}
    for w in writes:
        assert "error" not in w, w
        k = (w["blueprint"], w["identifier"])
        cur = out.get(k) or {"blueprint": w["blueprint"], "identifier": w["identifier"], "title": None,
                             "icon": None, "team": None, "properties": {}, "relations": {}}
        for f in ("title", "icon", "team"):
            if f in w:
                cur[f] = w[f]
        cur["properties"] = {**cur["properties"], **w["properties"]}
        cur["relations"] = {**cur["relations"], **w["relations"]}
        out[k] = cur
    return out


def jq_first_many(exprs: list[str], inputs: list) -> list[list]:
    """`jq_first` of several expressions in one `jq` run: for each input, the list of each
    expression's first output (None when none; {ERROR: msg} on error)."""
    if not inputs or not exprs:
        return [[] for _ in inputs] if not exprs else []
    parts = ", ".join(f'(try ([{as_jq(e)}\n] | .[0]) catch {{"{ERROR}": .}})' for e in exprs)
    stdin = "\n".join(json.dumps(i) for i in inputs)
    out = subprocess.run([require_jq(), "-c", f"[{parts}]"], input=stdin, capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    assert len(lines) == len(inputs), (exprs, out[:500])
    return [json.loads(line) for line in lines]


def mapping_expressions(mapping: dict) -> list[str]:
    """Every jq expression of a mapping: filter, itemsToParse, and the entity's string leaves."""
    out = [mapping[k] for k in ("filter", "itemsToParse") if isinstance(mapping.get(k), str)]
    return out + [e for _, e in _leaves(mapping.get("entity", {}))]


class JqCache:
    """Expressions evaluated over many inputs in one `jq` run (`add`), then answered per input:
    `first` has `jq_first`'s signature, for `entity_writes(..., first=cache.first)`; an input or an
    expression not added is evaluated by `jq_first`."""

    def __init__(self):
        self.values: dict[tuple[str, str], object] = {}

    def add(self, exprs: list[str], inputs: list) -> None:
        exprs = list(dict.fromkeys(exprs))
        for inp, row in zip(inputs, jq_first_many(exprs, inputs)):
            text = json.dumps(inp, sort_keys=True)
            for e, v in zip(exprs, row):
                self.values[(e, text)] = v

    def first(self, expr: str, inputs: list) -> list:
        keys = [(expr, json.dumps(i, sort_keys=True)) for i in inputs]
        if all(k in self.values for k in keys):
            return [self.values[k] for k in keys]
        return jq_first(expr, inputs)
