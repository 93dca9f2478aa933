"""Records shaped by what Airbyte's Slack, Okta and HiBob sources publish (`airbyte_data/`, see its
SOURCES.md): records generated from each stream's JSON schema, and the records the connectors
recorded for their own acceptance tests; both wrapped as Airbyte's S3 destination writes them with
root-level flattening (the record's fields at the root plus `_airbyte_raw_id`,
`_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_generation_id`).

`SchemaSampler` walks a schema and makes records that exercise every field of it, optional ones
included: each property is sometimes absent, sometimes null (when its type allows null), sometimes
`{}` or `[]` (objects and arrays), otherwise a value of one of its types — type lists, `anyOf` and
`oneOf` pick different branches in different records, so a field's type changes between records;
nested objects follow their sub-schemas, untyped values get arbitrary JSON, strings carry unicode,
numbers come as ints and floats, and objects sometimes carry keys the schema does not name (with
dots, spaces, unicode, differing only in case). It tracks which (field, variant) pairs it has made
and steers towards the missing ones, so a few dozen records cover a schema (`uncovered()`).
Untyped values keep one shape per field (as an API's do, so that a columnar reader sees one type
and only which keys are present varies) unless `mixed` is set. Deterministic by seed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "airbyte_data"

# --- schemas -----------------------------------------------------------------------------------


def load_schema(guide: str, stream: str) -> dict:
    """The stream's schema as stored, `$ref`s to other files of the connector (`shared/`) inlined."""
    base = DATA_DIR / guide
    return _inline(json.loads((base / f"{stream}.schema.json").read_text(encoding="utf-8")), base)


def _inline(node, base: Path, depth: int = 0):
    if depth > 20:
        raise ValueError("schema $refs nest too deep")
    if isinstance(node, list):
        return [_inline(v, base, depth) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(v, base, depth) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        path = next(p for p in (base / ref, base / "shared" / ref) if p.exists())
        target = _inline(json.loads(path.read_text(encoding="utf-8")), base, depth + 1)
        out = {**target, **out}  # the referring node's own keys (description) stay
    return out


def merge_schema(base: dict, extra: dict) -> dict:
    """`base` with `extra` merged in, object by object (extra wins for anything but dicts)."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_schema(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --- values --------------------------------------------------------------------------------------

TEXTS = [
    "general", "Bjørn Åsmund", "chen 陈", "Ελληνικά", "emoji 🙂 ok", "naïve café", "e\u0301clair", "עברית",
    "", " leading space", "quote \" and \\ backslash", "tab\tand\nnewline", "0042", "true", "null", "{}",
    "ümlaut-ÄÖÜ", "日本語のテキスト", "x" * 120, "mixed CASE Text", "a.b.c", "semi;colon,comma",
]
EXTRA_KEYS = ["extra_field", "with.dot", "with space", "ключ", "Id", "ID", "CamelCase", "camelcase", "ünï"]
FLOATS = [0.5, -12.25, 3.14159, 1e-07, 12345.678, 2.5e10, 99.99, 0.1]


def _text(rng: random.Random) -> str:
    t = rng.choice(TEXTS)
    return t if rng.random() < 0.6 else f"{t} {rng.randrange(1000)}"


def _int(rng: random.Random) -> int:
    return rng.choice([0, 1, -1, rng.randrange(100), rng.randrange(1_600_000_000, 1_800_000_000),
                       rng.randrange(10**12, 10**13), 2**53 - 1, -rng.randrange(10**6)])


def _date_time(rng: random.Random) -> str:
    t = dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=rng.randrange(11 * 365 * 86400))
    style = rng.randrange(4)
    if style == 0:
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if style == 1:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 2:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(10**6):06d}+00:00"
    return (t + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")


def _date(rng: random.Random) -> str:
    return (dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(4000))).isoformat()


def any_json(rng: random.Random, depth: int = 0, shape: str | None = None):
    """Arbitrary JSON (for values a schema leaves untyped): scalars, empty and nested containers.
    With `shape` (a name for where the value sits), the kinds and keys are the same every time for
    that name and only the values vary, as an API's untyped field keeps its shape from record to
    record; without it, anything goes."""
    pick = random.Random(shape) if shape is not None else rng
    kinds = ["null", "bool", "int", "float", "text", "empty_obj", "empty_arr"]
    if depth < 2:
        kinds += ["obj", "obj", "arr"]
    k = pick.choice(kinds)
    if k == "null":
        return None
    if k == "bool":
        return rng.random() < 0.5
    if k == "int":
        return _int(rng)
    if k == "float":
        return rng.choice(FLOATS)
    if k == "text":
        return _text(rng)
    if k == "empty_obj":
        return {}
    if k == "empty_arr":
        return []
    if k == "obj":
        keys = pick.sample(EXTRA_KEYS + ["a", "b", "value", "items"], pick.randint(1, 3))
        return {key: any_json(rng, depth + 1, None if shape is None else f"{shape}.{key}") for key in keys}
    return [any_json(rng, depth + 1, None if shape is None else f"{shape}[]") for _ in range(rng.randint(1, 3))]


# --- the sampler -----------------------------------------------------------------------------------

Pool = Callable[[random.Random], Any]


def _branches(schema: dict) -> list[tuple[str, dict]]:
    """(kind, schema) per alternative: each type of a type list, each anyOf/oneOf option."""
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            rest = {k: v for k, v in schema.items() if k != key}
            return [b for opt in schema[key] for b in _branches({**rest, **opt})]
    t = schema.get("type")
    if t is None:
        if "enum" in schema:
            return [("enum", schema)]
        return [("object", schema)] if "properties" in schema else [("any", schema)]
    types = t if isinstance(t, list) else [t]
    return [(str(x), schema) for x in types]


def _modes(schema: dict, optional: bool) -> list[str]:
    """The variants one field can take; each is made at least once."""
    out = ["absent"] if optional else []
    for i, (kind, sub) in enumerate(_branches(schema)):
        tag = f"{i}:{kind}"
        if kind == "number":
            out += [tag + ":int", tag + ":float"]
        elif kind == "object":
            out += [tag, tag + ":empty"] + ([tag + ":extra"] if sub.get("additionalProperties") is not False else [])
        elif kind == "array":
            out += [tag, tag + ":empty"]
        else:
            out.append(tag)
    return out


def _children(kind: str, sub: dict) -> list[tuple[str, dict, bool]]:
    """(name, schema, optional) of what a value of this branch contains."""
    if kind == "object":
        return [(name, s if isinstance(s, dict) else {}, True) for name, s in (sub.get("properties") or {}).items()]
    if kind == "array" and isinstance(sub.get("items"), dict):
        return [("[]", sub["items"], False)]
    return []


class SchemaSampler:
    """Records from one JSON schema (see the module's docstring). `pools` maps a dotted field path
    (`"profile.email"`, `"_links.self.href"`) to a function giving that field's value whenever it
    is present and not null — identifiers that repeat across records, emails, URLs. Fields in
    `often` (and pooled ones, and their parents) hold a value most of the time once each of their
    variants has been made: the ones a consumer requires, so that most records are usable."""

    def __init__(self, schema: dict, seed, pools: dict[str, Pool] | None = None, often: tuple[str, ...] = ()):
        self.schema = schema
        self.seed = seed
        self.rng = random.Random(f"{seed}")
        # False: untyped values keep one shape per field (kinds, keys), as real APIs' do, so a
        # columnar reader sees consistent types and only key presence varies; True: anything goes
        self.mixed = True
        self.pools = {tuple(k.split(".")): v for k, v in (pools or {}).items()}
        paths = [tuple(k.split(".")) for k in often] + list(self.pools)
        self.often = {p[:i] for p in paths for i in range(1, len(p) + 1)}
        self.todo: dict[tuple, set[str]] = {}
        self.pending: Counter = Counter()  # path prefix -> variants not yet made at or below it
        self._plan(schema, (), optional=False, depth=0)
        self._made((), "0:object")
        for m in list(self.todo[()]):  # a record is an object that has fields: the root takes no other variant
            self._made((), m)

    def _plan(self, schema: dict, path: tuple, optional: bool, depth: int) -> None:
        if depth > 12:
            return
        modes = set(_modes(schema, optional))
        new = modes - self.todo.get(path, set())
        self.todo.setdefault(path, set()).update(new)
        for i in range(len(path) + 1):
            self.pending[path[:i]] += len(new)
        for kind, sub in _branches(schema):
            for name, child, opt in _children(kind, sub):
                self._plan(child, path + (name,), opt, depth + 1)

    def _made(self, path: tuple, mode: str) -> None:
        todo = self.todo.get(path)
        if todo and mode in todo:
            todo.discard(mode)
            for i in range(len(path) + 1):
                self.pending[path[:i]] -= 1

    def uncovered(self) -> list[tuple[str, str]]:
        """(dotted path, variant) pairs not made yet."""
        return sorted((".".join(p), m) for p, ms in self.todo.items() for m in ms)

    def _choose(self, schema: dict, path: tuple, optional: bool) -> str:
        rng = self.rng
        modes = _modes(schema, optional)
        here = [m for m in modes if m in self.todo.get(path, ())]
        below = self.pending[path] - len(here)
        r = rng.random()
        if below > 0 and r < 0.6:  # something deeper is still missing: make a value that holds it
            deep = [m for m in modes if self._leads_to_pending(schema, path, m)]
            if deep:
                return rng.choice(deep)
        if here and r < 0.85:
            return rng.choice(here)
        if path in self.often and rng.random() < 0.85:
            values = [m for m in modes if m != "absent" and not m.endswith((":null", ":empty"))]
            if values:
                return rng.choice(values)
        weights = [1 if m == "absent" or m.endswith((":null", ":empty", ":extra")) else 3 for m in modes]
        return rng.choices(modes, weights)[0]

    def _shape(self, path: tuple, *more: str) -> str | None:
        return None if self.mixed else "/".join((str(self.seed),) + path + more)

    def _leads_to_pending(self, schema: dict, path: tuple, mode: str) -> bool:
        """Whether a value of this variant (a non-empty object or array) holds fields not covered yet."""
        parts = mode.split(":")
        if len(parts) != 2 or parts[1] not in ("object", "array"):
            return False
        kind, sub = _branches(schema)[int(parts[0])]
        return any(self.pending[path + (name,)] for name, _, _ in _children(kind, sub))

    def record(self) -> dict:
        return self._object(self.schema, (), "", 0)

    def records(self, n: int) -> list[dict]:
        return [self.record() for _ in range(n)]

    _ABSENT = object()

    def _value(self, schema: dict, path: tuple, optional: bool, depth: int = 0):
        mode = self._choose(schema, path, optional)
        self._made(path, mode)
        return self._make(schema, path, mode, depth)

    def _make(self, schema: dict, path: tuple, mode: str, depth: int):
        rng = self.rng
        if mode == "absent":
            return self._ABSENT
        parts = mode.split(":")
        kind, sub = _branches(schema)[int(parts[0])]
        variant = parts[2] if len(parts) > 2 else ""
        if kind == "null":
            return None
        pool = self.pools.get(path)
        if pool is not None and kind not in ("object", "array"):
            return pool(rng)
        if kind == "enum" or (kind in ("string", "integer", "number") and isinstance(sub.get("enum"), list)):
            return rng.choice(sub["enum"])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer" or (kind == "number" and variant == "int"):
            return _int(rng)
        if kind == "number":
            return rng.choice(FLOATS) if rng.random() < 0.7 else round(rng.uniform(-1000, 1000), 3)
        if kind == "string":
            fmt = sub.get("format")
            if fmt == "date-time":
                return _date_time(rng)
            if fmt == "date":
                return _date(rng)
            return _text(rng)
        if kind == "any" or depth > 12:
            return any_json(rng, 0, self._shape(path))
        if kind == "array":
            if variant == "empty":
                return []
            items = sub.get("items")
            if not isinstance(items, dict):
                return [any_json(rng, 1, self._shape(path, "[]")) for _ in range(rng.randint(1, 3))]
            n = rng.randint(1, 3)
            return [self._value(items, path + ("[]",), optional=False, depth=depth + 1) for _ in range(n)]
        if variant == "empty":
            return {}
        return self._object(sub, path, variant, depth)

    def _object(self, sub: dict, path: tuple, variant: str, depth: int) -> dict:
        rng = self.rng
        props = sub.get("properties")
        if not props:  # an object the schema leaves open: arbitrary keys and values
            pick = rng if self.mixed else random.Random(self._shape(path, "{}"))
            keys = pick.sample(EXTRA_KEYS + ["a", "value"], pick.randint(1, 3))
            return {key: any_json(rng, 1, self._shape(path, key)) for key in keys}
        out = {}
        names = list(props)
        if rng.random() < 0.3:
            rng.shuffle(names)  # key order varies between records, as APIs do
        for name in names:
            v = self._value(props[name] if isinstance(props[name], dict) else {}, path + (name,), True, depth + 1)
            if v is not self._ABSENT:
                out[name] = v
        if variant == "extra" or (sub.get("additionalProperties") is not False and rng.random() < 0.1):
            for key in rng.sample(EXTRA_KEYS, rng.randint(1, 2)):
                if key not in props:
                    out[key] = any_json(rng, 1, self._shape(path, key))
        return out


# --- Airbyte's S3 layout ---------------------------------------------------------------------------


def airbyte_wrap(record: dict, rng: random.Random, extracted_at: dt.datetime) -> dict:
    """One line as Airbyte's S3 destination writes it with root-level flattening."""
    meta: dict = {"changes": [], "sync_id": 7}
    if rng.random() < 0.1:
        meta["changes"] = [{"field": "profile", "change": "NULLED", "reason": "SOURCE_RETRIEVAL_ERROR"}]
    return {"_airbyte_raw_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "_airbyte_extracted_at": extracted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "_airbyte_meta": meta, "_airbyte_generation_id": 1, **record}


def recorded_records(guide: str) -> dict[str, list[tuple[dict, int]]]:
    """The connector's `integration_tests/expected_records.jsonl`: stream -> [(data, emitted_at)],
    in file order (empty when the connector records none: HiBob)."""
    path = DATA_DIR / guide / "expected_records.jsonl"
    out: dict[str, list[tuple[dict, int]]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            msg = json.loads(line)
            out.setdefault(msg["stream"], []).append((msg["data"], msg["emitted_at"]))
    return out


def wrapped_recorded(guide: str, seed=0) -> dict[str, list[dict]]:
    """`recorded_records` with each record's `data` wrapped as Airbyte's S3 destination writes it."""
    rng = random.Random(f"recorded/{guide}/{seed}")
    return {stream: [airbyte_wrap(data, rng, dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc))
                     for data, ms in recs]
            for stream, recs in recorded_records(guide).items()}


# --- the streams Port's guides map -----------------------------------------------------------------

GUIDE_STREAMS = {
    "slack": ("channels", "users", "channel_members"),
    "okta": ("custom_roles", "permissions", "user_role_assignments", "users"),
    "hibob": ("payroll", "profiles"),
}

_NULLABLE_STRING = {"type": ["string", "null"]}
# Fields Port's guide mappings read that the stream's published schema does not declare (the
# schemas allow additional properties; the real Okta records carry `_links.self`, for example).
GUIDE_EXTRAS: dict[tuple[str, str], dict] = {
    ("okta", "custom_roles"): {"properties": {"description": _NULLABLE_STRING}},
    ("okta", "permissions"): {"properties": {"_links": {"properties": {
        "self": {"type": ["object", "null"], "properties": {"href": {"type": "string"}}}}}}},
    ("okta", "user_role_assignments"): {"properties": {"userId": _NULLABLE_STRING}},
    ("hibob", "payroll"): {"properties": {
        "creationDate": {"type": ["string", "null"], "format": "date"},
        "creationDatetime": {"type": ["string", "null"], "format": "date-time"},
        "state": _NULLABLE_STRING}},
}


def _ident(prefix: str, n: int, odd: list) -> Pool:
    """Identifiers from a small set (later records update earlier entities), now and then an odd one."""
    def pick(rng: random.Random):
        if rng.random() < 0.08:
            return rng.choice(odd)
        return f"{prefix}{rng.randrange(n):04d}"
    return pick


def _email(domain: str) -> Pool:
    def pick(rng: random.Random):
        name = rng.choice(["ana", "bjørn", "chen", "dee", "élodie", "femi", "o'neil", "x.y+z"])
        if rng.random() < 0.05:
            return rng.choice(["not an email", "", "a@b"])
        return f"{name}{rng.randrange(20)}@{domain}"
    return pick


def _url(base: str) -> Pool:
    def pick(rng: random.Random):
        if rng.random() < 0.05:
            return rng.choice(["not a url", "/relative/path.png"])
        return f"{base}/{rng.randrange(1000)}.png"
    return pick


def _permission_href(rng: random.Random) -> str:
    label = rng.choice(["okta.users.read", "okta.users.manage", "okta.groups.read", "okta.apps.manage"])
    return f"https://acme-admin.okta.com/api/v1/iam/roles/cr0{rng.randrange(4):04d}/permissions/{label}"


GUIDE_POOLS: dict[tuple[str, str], dict[str, Pool]] = {
    ("slack", "channels"): {"id": _ident("C0", 14, [7, 12, "bad id", "Cünïcode"])},  # numbers: `| tostring`
    ("slack", "users"): {"id": _ident("U0", 14, [3, "bad id", "Uñ"]), "profile.email": _email("example.com")},
    ("slack", "channel_members"): {"channel_id": _ident("C0", 6, ["C x"]), "member_id": _ident("U0", 8, ["Ü1"])},
    ("okta", "custom_roles"): {"id": _ident("cr0", 6, ["bad id", "crø"])},
    ("okta", "permissions"): {"_links.self.href": _permission_href},
    ("okta", "user_role_assignments"): {"id": _ident("ra", 10, ["bad id"]), "userId": _ident("00u", 9, ["bad id"])},
    ("okta", "users"): {"id": _ident("00u", 12, ["bad id", "00ü"])},
    ("hibob", "payroll"): {"id": _ident("3000", 12, ["bad id"]), "email": _email("acme.com"),
                           "avatarUrl": _url("https://img.hibob.com/a"),
                           "coverImageUrl": _url("https://img.hibob.com/c")},
    ("hibob", "profiles"): {"id": _ident("3000", 12, ["bad id"]), "email": _email("acme.com")},
}


# What the guides' blueprints require (a write without it fails), held most of the time.
GUIDE_OFTEN: dict[tuple[str, str], tuple[str, ...]] = {
    ("slack", "channel_members"): ("member_id", "channel_id"),
    ("okta", "custom_roles"): ("created",),
    ("okta", "permissions"): ("created",),
    ("okta", "user_role_assignments"): ("type", "status", "created", "assignmentType"),
    ("okta", "users"): ("status", "created", "activated", "statusChanged", "type", "profile"),
}


def guide_schema(guide: str, stream: str) -> dict:
    return merge_schema(load_schema(guide, stream), GUIDE_EXTRAS.get((guide, stream), {}))


def sampler(guide: str, stream: str, seed) -> SchemaSampler:
    return SchemaSampler(guide_schema(guide, stream), f"{guide}/{stream}/{seed}", GUIDE_POOLS.get((guide, stream)),
                         GUIDE_OFTEN.get((guide, stream), ()))


def sample_objects(guide: str, stream: str, seed, n_objects: int = 3, per_object: int = 20,
                   start: dt.datetime = dt.datetime(2025, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
                   ) -> tuple[list[list[dict]], SchemaSampler]:
    """`n_objects` objects of schema-generated records wrapped as Airbyte writes them, and the
    sampler (for `uncovered()`). In all but the last object untyped values keep one shape per field
    (`SchemaSampler.mixed` False); in the last one they vary from record to record."""
    s = sampler(guide, stream, seed)
    rng = random.Random(f"wrap/{guide}/{stream}/{seed}")
    objects = []
    for o in range(n_objects):
        s.mixed = o == n_objects - 1
        objects.append([airbyte_wrap(r, rng, start + dt.timedelta(minutes=10 * o, seconds=i))
                        for i, r in enumerate(s.records(per_object))])
    return objects, s
