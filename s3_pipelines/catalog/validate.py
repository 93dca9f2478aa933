"""Blueprint validation of an entity, run on every write: property types, string formats, enums,
required properties and relations, relation shape (one / many / search), the identifier's
characters and length. Each problem names the field and says why."""

from __future__ import annotations

import json
import math
import re

from ..config.port import BlueprintConfig, PropertySpec
from ..readers.records import json_type
from .formats import format_problem

IDENTIFIER_MAX = 1000
_IDENTIFIER_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@_.+:\\/=-")
IDENTIFIER_RULE = "letters, digits and @ _ . + : \\ / = -"


def show(v, limit: int = 80) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_IDENTIFIER_FAST = re.compile(r"[A-Za-z0-9@_.+:\\/=-]{1,%d}" % IDENTIFIER_MAX)


def identifier_problem(v, what: str = "identifier") -> str | None:
    if type(v) is str and _IDENTIFIER_FAST.fullmatch(v):  # the common case, decided without the loop below
        return None
    if not isinstance(v, str):
        hint = " (add `| tostring` to the mapping)" if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
        return f"{what} must be a string, got {json_type(v)} {show(v)}{hint}"
    if not v:
        return f"{what} is empty"
    if len(v) > IDENTIFIER_MAX:
        return f"{what} is {len(v)} characters long; at most {IDENTIFIER_MAX}"
    bad = sorted({c for c in v if c not in _IDENTIFIER_ASCII and not c.isalpha()})
    if bad:
        return f"{what} {show(v)} has {show(''.join(bad))}: only {IDENTIFIER_RULE} are allowed"
    return None


def _same(a, b) -> bool:
    """JSON equality (true is not 1)."""
    return json_type(a) == json_type(b) and a == b


_MEMO: dict = {}  # (id(spec), type, value) -> (spec, problem): scalars repeat across records
_MEMO_MAX = 200_000


def value_problem(spec: PropertySpec | dict, v) -> str | None:
    """Why `v` does not fit a property (or array item) spec, or None."""
    t = type(v)
    if t is str or t is int or t is float or t is bool:
        key = (id(spec), t, v)
        hit = _MEMO.get(key)
        if hit is not None and hit[0] is spec:  # the entry holds the spec, so its id is not reused
            return hit[1]
        why = _value_problem(spec, v)
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = (spec, why)
        return why
    return _value_problem(spec, v)


def _value_problem(spec: PropertySpec | dict, v) -> str | None:
    get = spec.get if isinstance(spec, dict) else lambda k, d=None: getattr(spec, k, d)
    want = get("type")
    got = json_type(v)
    if want and got != want:
        return f"expected {want}, got {got} {show(v)}"
    if got == "number" and isinstance(v, float) and not math.isfinite(v):
        return f"expected a finite number, got {v}"
    if got == "string":
        why = format_problem(get("format"), v)
        if why:
            return f"{show(v)} {why}"
    enum = get("enum")
    if enum is not None and not any(_same(v, e) for e in enum):
        return f"{show(v)} is not one of {show(enum, 200)}"
    items = get("items")
    if got == "array" and isinstance(items, dict):
        for i, item in enumerate(v):
            if item is None:
                continue
            why = value_problem(items, item)
            if why:
                return f"item {i}: {why}"
    return None


def validate_entity(entity: dict, bp: BlueprintConfig, blueprint_name: str) -> list[str]:
    """Problems of a whole entity (after merging) against its blueprint; empty when it may be written."""
    problems = []
    why = identifier_problem(entity.get("identifier"))
    if why:
        problems.append(why)
    for key in ("title", "icon"):
        v = entity.get(key)
        if v is not None and not isinstance(v, str):
            problems.append(f"{key} must be a string, got {json_type(v)} {show(v)}")
    team = entity.get("team")
    if team is not None and not (isinstance(team, str) or (isinstance(team, list) and all(isinstance(t, str) for t in team))):
        problems.append(f"team must be a string or a list of strings, got {show(team)}")
    specs = bp.property_specs()
    props = entity.get("properties") or {}
    for name, v in props.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"property {name}: blueprint {blueprint_name} has no such property")
        elif v is not None:
            why = value_problem(spec, v)
            if why:
                problems.append(f"property {name}: {why}")
    for name in bp.required_names():
        if props.get(name) is None:
            problems.append(f"property {name}: required, but missing")
    rels = entity.get("relations") or {}
    for name, v in rels.items():
        rel = bp.relations.get(name)
        if rel is None:
            problems.append(f"relation {name}: blueprint {blueprint_name} has no such relation")
            continue
        why = relation_problem(v, rel.many, rel.target)
        if why:
            problems.append(f"relation {name}: {why}")
    for name, rel in bp.relations.items():
        if rel.required and rels.get(name) is None:
            problems.append(f"relation {name}: required, but missing")
    return problems


def is_search(v) -> bool:
    return isinstance(v, dict) and "combinator" in v and "rules" in v


def relation_problem(v, many: bool, target: str) -> str | None:
    if v is None or is_search(v):
        return None
    if isinstance(v, dict):
        return f"an object must be a search query {{combinator, rules}}, got {show(v)}"
    if isinstance(v, list):
        if not many:
            return f"relates to one {target} (many: false), got a list {show(v)}"
        for item in v:
            why = identifier_problem(item, f"{target} identifier")
            if why:
                return why
        return None
    if many:
        return f"relates to many {target} (many: true): give a list of identifiers, got {json_type(v)} {show(v)}"
    return identifier_problem(v, f"{target} identifier")
