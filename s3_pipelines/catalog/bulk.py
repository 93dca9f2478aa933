"""The bulk path of `create` writes: a batch of entity results as columns (every expression of the
mapping compiled, no record failed) validated column-wise and written as Arrow, with one audit row
per entity — the same rows, audit and counts as `CatalogWriter.apply` would write.

It applies only where that equality is easy to see: new entities (none of the identifiers exists
yet, and none repeats inside the batch), plain identifiers, scalar columns whose Arrow type is
the blueprint's type, values that pass the blueprint's checks. Anything else — an existing entity
to merge, a value that fails validation (its message comes from the row path), a list or object
value — returns False, and the caller takes the row path for the batch."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .codec import to_json
from .schema import AUDIT_COLUMNS, ENTITIES, ENTITY_COLUMNS, TMP_KEYS
from .validate import IDENTIFIER_MAX, value_problem

_PLAIN_ID = "^[A-Za-z0-9@_.+:\\\\/=-]+$"  # ASCII only, so a plain identifier's length is its byte length
_KIND = {"string": "string", "number": "number", "boolean": "boolean"}


def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    return None


def _plain_ids(arr: pa.Array) -> bool:
    """Every non-null value is an identifier the blueprint rules accept as is."""
    valid = arr.drop_null() if arr.null_count else arr
    if len(valid) == 0:
        return True
    # the length bound apart from the regex: a counted repetition ({1,1000}) makes RE2 about 10x slower
    if pc.max(pc.binary_length(valid)).as_py() > IDENTIFIER_MAX:
        return False
    return bool(pc.all(pc.match_substring_regex(valid, _PLAIN_ID)).as_py())


def column_plan(spec, bp, cols):
    """Whether every entity of `cols` (vector.plan.EntityColumns) passes blueprint `bp` as is,
    decided column-wise: (slot index by path, property (name, slot) pairs, relation (name, slot)
    pairs), or None when a value needs the row path (its validation message, a merge of a list or
    object value...). Repeated identifiers are not looked at."""
    from ..mapping.compile import _Leaf

    n = len(cols)
    specs, rels = bp.property_specs(), bp.relations
    m = cols.plan.m
    by_path = {slot.path: i for i, slot in enumerate(m.slots)}

    ident = cols.arrays[0]
    if _kind(ident.type) != "string" or ident.null_count or not _plain_ids(ident):
        return None
    for key in ("title", "icon", "team"):
        i = by_path.get((key,))
        if i is not None and _kind(cols.arrays[i].type) not in ("string", "null"):
            return None
    props: list[tuple[str, int]] = []
    for path, i in by_path.items():
        if path[0] != "properties":
            continue
        name, arr = path[1], cols.arrays[i]
        ps = specs.get(name)
        kind = _kind(arr.type)
        if ps is None or kind is None:
            return None
        if kind != "null" and arr.null_count < n:
            if _KIND.get(ps.type) != kind:
                return None
            if kind == "number" and pa.types.is_floating(arr.type) and not pc.all(pc.is_finite(arr.drop_null())).as_py():
                return None
            if getattr(ps, "format", None) is not None or getattr(ps, "enum", None) is not None:
                for v in pc.unique(arr.drop_null()).to_pylist():
                    if value_problem(ps, v) is not None:
                        return None
        props.append((name, i))
    mapped = {name for name, _ in props}
    for name in bp.required_names():
        if name not in mapped or cols.arrays[by_path[("properties", name)]].null_count:
            return None
    relations: list[tuple[str, int]] = []
    for name, t in m.relation_templates.items():
        rel = rels.get(name)
        if rel is None or not isinstance(t, _Leaf):
            return None
        arr = cols.arrays[by_path[t.path]]
        kind = _kind(arr.type)
        if kind not in ("string", "null"):
            return None
        if kind == "string" and arr.null_count < n and (rel.many or not _plain_ids(arr)):
            return None
        relations.append((name, by_path[t.path]))
    for name, rel in rels.items():
        if rel.required and (name not in m.relation_templates
                             or cols.arrays[by_path[m.relation_templates[name].path]].null_count):
            return None
    return by_path, props, relations


def bulk_create(w, cols) -> bool:
    """Write `cols` (vector.plan.EntityColumns) through writer `w`; False when the row path must."""
    spec = w.spec
    n = len(cols)
    if spec.operation != "create":
        return False
    if n == 0:
        return True
    bp_name = spec.blueprint
    bp = w.ec.blueprint(bp_name)
    planned = column_plan(spec, bp, cols)
    if planned is None:
        return False
    by_path, props, relations = planned
    ident = cols.arrays[0]
    if pc.count_distinct(ident).as_py() != n:
        return False  # a later record merges into an earlier one: the row path does that
    staged = w.tables[0] != ENTITIES  # a staged load: earlier chunks' entities are in its scratch table
    if (w.store.has_any(bp_name) or staged) and _any_exists(w, bp_name, cols.arrays[0]):
        return False

    # --- write -----------------------------------------------------------------------------------------
    w.flush_audit()  # rows the writer holds come first (audit order = record order)
    tx, ctx, now = w.tx, w.ctx, w.now
    prop_json = _json_objects(cols, props, n)
    rel_json = _json_objects(cols, relations, n)

    def plain(key):
        i = by_path.get((key,))
        return pa.nulls(n, pa.string()) if i is None else cols.arrays[i].cast(pa.string())

    team_i = by_path.get(("team",))
    team = pa.nulls(n, pa.string()) if team_i is None else pa.array([to_json(v) for v in cols.value(team_i)], pa.string())
    ts = pa.timestamp("us", tz="UTC")
    table = pa.table({
        "blueprint": pa.repeat(pa.scalar(bp_name, pa.string()), n), "identifier": ident.cast(pa.string()),
        "title": plain("title"), "icon": plain("icon"), "team": team,
        "properties": prop_json, "relations": rel_json,
        "created_at": pa.repeat(pa.scalar(now, ts), n), "updated_at": pa.repeat(pa.scalar(now, ts), n),
        "mapping": pa.repeat(pa.scalar(spec.name, pa.string()), n),
        "object_key": pa.repeat(pa.scalar(ctx.object_key, pa.string()), n),
    }).select(list(ENTITY_COLUMNS))
    store = w.store
    ent_table, rel_table, audit_table = w.tables
    tx.insert_arrow(ent_table, table)  # checked above: none of these identifiers exists, none repeats
    id_arr = table.column("identifier").combine_chunks()
    for name, i in relations:
        target = w.relation_targets.get((bp_name, name))
        arr = cols.arrays[i]
        if target is None or _kind(arr.type) == "null" or arr.null_count == n:
            continue
        keep = pc.is_valid(arr)
        k = int(pc.sum(keep).as_py() or 0)
        tx.insert_arrow(rel_table, pa.table({
            "blueprint": pa.repeat(pa.scalar(bp_name, pa.string()), k), "identifier": id_arr.filter(keep),
            "relation": pa.repeat(pa.scalar(name, pa.string()), k),
            "target_blueprint": pa.repeat(pa.scalar(target, pa.string()), k),
            "target_identifier": arr.filter(keep).cast(pa.string())}))
    if not staged:
        store._populated[bp_name] = True

    seq0 = w.seq
    w.seq += n
    w.counts.created += n
    audit = {
        "time": pa.repeat(pa.scalar(now, ts), n), "run_id": _const(ctx.run_id, n), "stream": _const(ctx.stream, n),
        "partition_key": _const(ctx.partition, n), "object_key": _const(ctx.object_key, n), "etag": _const(ctx.etag, n),
        "line": cols.line_array.cast(pa.int64()),  # rows are 0..n-1: the batch's passing rows in order
        "seq": pa.array(range(seq0 + 1, seq0 + n + 1), pa.int64()), "mapping": _const(spec.name, n),
        "blueprint": _const(bp_name, n), "identifier": id_arr, "action": _const("CREATE", n),
        "status": _const("SUCCESS", n), "message": pa.nulls(n, pa.string()),
    }
    tx.insert_arrow(audit_table, pa.table({c: audit[c] for c in AUDIT_COLUMNS}))
    return True


_NEEDS_ESCAPE = '["\\\\\\x00-\\x1f]'  # what orjson escapes in a string: " \\ and control characters
_EXACT = 2**53


def _json_values(arr: pa.Array, values) -> pa.Array:
    """Each row's value as the JSON text to_json (orjson) writes for it, computed column-wise where
    Arrow's text is the same, per value otherwise (`values()`: the values as jq outputs them)."""
    n = len(arr)
    t = arr.type
    null = pa.scalar("null")
    if pa.types.is_null(t):
        return pa.repeat(null, n)
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(arr, pa.scalar("true"), pa.scalar("false")), null)
    if pa.types.is_integer(t):
        mm = pc.min_max(arr)
        if mm["min"].as_py() is None or max(abs(mm["min"].as_py()), abs(mm["max"].as_py())) <= _EXACT:
            return pc.fill_null(pc.cast(arr, pa.string()), null)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        arr = arr.cast(pa.string())
        quoted = pc.binary_join_element_wise(pa.scalar('"'), arr, pa.scalar('"'), "")
        odd = pc.fill_null(pc.match_substring_regex(arr, _NEEDS_ESCAPE), False)
        if pc.any(odd).as_py():
            idx = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
            vals = values()
            fixed = pa.array([orjson.dumps(vals[i]).decode() for i in idx], pa.string())
            quoted = pc.replace_with_mask(quoted, odd, fixed)
        return pc.fill_null(quoted, null)
    # floats (jq's integral doubles are integers by now) and the rare cases: orjson per value
    return pa.array([orjson.dumps(v).decode() for v in values()], pa.string())


def _json_objects(cols, fields: list[tuple[str, int]], n: int, sort: bool = True) -> pa.Array:
    """to_json of {name: value} per row (sorted keys unless not `sort`, compact), built from
    columns; `fields` are (name, slot) pairs."""
    if not fields:
        return pa.repeat(pa.scalar("{}"), n)
    parts = []
    for j, (name, i) in enumerate(sorted(fields) if sort else fields):
        key = ("{" if j == 0 else ",") + orjson.dumps(name).decode() + ":"
        parts.append(pa.repeat(pa.scalar(key), n))
        parts.append(_json_values(cols.arrays[i], lambda i=i: cols.value(i)))
    parts.append(pa.repeat(pa.scalar("}"), n))
    return pc.binary_join_element_wise(*parts, "")


def _const(v, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(v, pa.string()), n)


def _any_exists(w, bp_name: str, idents: pa.Array) -> bool:
    w.store._temp_tables()
    w.tx.execute(f"DELETE FROM {TMP_KEYS}")
    w.tx.insert_arrow(TMP_KEYS, pa.table({"blueprint": pa.repeat(pa.scalar(bp_name, pa.string()), len(idents)),
                                          "identifier": idents.cast(pa.string())}))
    for table in dict.fromkeys((ENTITIES, w.tables[0])):  # the catalog's, and a staged load's own
        if w.tx.execute(f"SELECT 1 FROM {table} e JOIN {TMP_KEYS} k USING (blueprint, identifier) LIMIT 1"):
            return True
    return False

