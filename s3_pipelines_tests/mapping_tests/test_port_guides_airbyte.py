"""Port's published Slack, Okta and HiBob guides, blueprints and mappings files unchanged, over what
Airbyte's sources really write (issue 9, item 3): (a) records generated from the JSON schemas the
`source-slack`, `source-okta` and `source-hibob` connectors publish, exercising every field of them
(absent, null, empty, every type of a type list, unicode, ints and floats), and (b) the records the
connectors recorded for their own acceptance tests (`integration_tests/expected_records.jsonl`;
HiBob records none). See `airbyte_data/SOURCES.md`.

Each corpus goes as Airbyte's S3 destination writes it (root-level flattening, `_airbyte_*` fields)
to Port's key layout `data/<webhookKey>/<stream>/year=YYYY/month=MM/DD_<epoch>_<n>.jsonl.gz` in the
moto server, through each guide stream's Dagster job into a DuckDB and a PostgreSQL catalog. The
expected catalog is what the `jq` command line computes on the raw lines (`jq_oracle`), applied
with Port's rules record by record in key order: a write whose jq failed, whose identifier is
invalid, or whose merged entity does not fit its blueprint is a failure and leaves the entity as it
was (the blueprint check is the catalog's own `validate_entity`, applied to the oracle's values).
Both the entities (every field of every one) and the audit log (every write: object, line,
identifier, action, status, and the failure's reason) must be equal. The two corpora share one
bucket and one run of each guide's job per target; a difference is labelled with its corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import psycopg
import pytest

from s3_pipelines.catalog import audit_rows, export_entities
from s3_pipelines.catalog.validate import identifier_problem, validate_entity
from s3_pipelines.config.port import BlueprintConfig
from s3_pipelines.targets import open_target

from . import airbyte_samples as samples
from .jq_oracle import ERROR, JqCache, entity_writes, mapping_expressions, require_jq
from .test_port_guides import EPOCH, GUIDES_DIR, _config

GUIDES = tuple(samples.GUIDE_STREAMS)
SEED = 9


def _key(guide: str, stream: str, epoch: int, part: int = 0) -> str:
    when = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return (f"data/hook_{guide}/{stream}/year={when:%Y}/month={when:%m}/"
            f"{when:%d}_{epoch * 1000}_{part}.jsonl.gz")


def schema_corpus() -> dict[str, list[tuple[str, list[dict]]]]:
    """guide -> [(key, records)]: three objects of schema-generated records per guide stream."""
    out: dict[str, list[tuple[str, list[dict]]]] = {}
    for g, streams in samples.GUIDE_STREAMS.items():
        for s, stream in enumerate(streams):
            objects, _ = samples.sample_objects(g, stream, SEED)
            for o, records in enumerate(objects):
                out.setdefault(g, []).append((_key(g, stream, EPOCH + 600 * o + s, part=o % 2), records))
    return out


RECORDED_EPOCH = EPOCH - 86_400  # the day before the samples' keys: the two corpora's keys never meet


def recorded_corpus() -> dict[str, list[tuple[str, list[dict]]]]:
    """guide -> [(key, records)]: one object per stream of the connector's recorded records (all
    its streams, the ones no guide maps too: the filters must drop them)."""
    out: dict[str, list[tuple[str, list[dict]]]] = {}
    for g in GUIDES:
        for s, (stream, records) in enumerate(samples.wrapped_recorded(g).items()):
            out.setdefault(g, []).append((_key(g, stream, RECORDED_EPOCH + s), records))
    return out


def both_corpora() -> dict[str, list[tuple[str, list[dict]]]]:
    """Both corpora in one bucket (one run of each guide's job per target keeps the test short);
    their identifiers do not overlap, so neither changes the other's entities."""
    out = schema_corpus()
    for g, objects in recorded_corpus().items():
        out.setdefault(g, []).extend(objects)
    return out


def corpus_of(key: str) -> str:
    return "recorded" if f"/{dt.datetime.fromtimestamp(RECORDED_EPOCH, dt.timezone.utc):%d}_" in key else "samples"


# --- the expected catalog: the jq oracle's values, Port's rules --------------------------------------


def _blueprints() -> dict[str, BlueprintConfig]:
    out = {}
    for g in GUIDES:
        for bp in json.loads((GUIDES_DIR / g / "blueprints.json").read_text()):
            out[bp["identifier"]] = BlueprintConfig.model_validate(bp)
    return out


def _audit_identifier(v):
    if isinstance(v, dict) and set(v) == {ERROR}:
        return None
    return v if isinstance(v, str) or v is None else str(v)


def expected_catalog(corpus: dict[str, list[tuple[str, list[dict]]]]):
    """(blueprint -> entities sorted by identifier, audit rows as (object key, line, blueprint,
    identifier, action, status, message) tuples: what the catalog must hold after the corpus)."""
    blueprints = _blueprints()
    state: dict[tuple[str, str], dict] = {}
    audit = []
    for g, objects in corpus.items():
        mappings = json.loads((GUIDES_DIR / g / "mappings.json").read_text())
        jq = JqCache()  # one `jq` run per guide: every expression of its mappings over every record
        jq.add([e for m in mappings for e in mapping_expressions(m)],
               [_input(r, key) for key, records in objects for r in records])
        for mapping in mappings:
            bp_name = mapping["blueprint"]
            bp = blueprints[bp_name]
            specs, rels = bp.property_specs(), bp.relations
            for key, records in sorted(objects):
                writes = entity_writes(mapping, records, key, first=jq.first)[0]
                lines = _lines(mapping, records, key, len(writes), jq)
                for line, w in zip(lines, writes):
                    ident = w.get("identifier")
                    k = (bp_name, ident) if isinstance(ident, str) else None
                    action = "UPDATE" if k in state else "CREATE"
                    row = (key, line, bp_name, _audit_identifier(ident), action)
                    if "error" in w:
                        audit.append(row + ("FAILURE", "jq error: " + w["error"].split(":")[0]))
                        continue
                    why = identifier_problem(ident)
                    if why:
                        audit.append(row + ("FAILURE", why))
                        continue
                    cur = state.get(k) or {"blueprint": bp_name, "identifier": ident, "title": None, "icon": None,
                                           "team": None, "properties": {}, "relations": {}}
                    merged = {"blueprint": bp_name, "identifier": ident,
                              **{f: w[f] if f in w else cur[f] for f in ("title", "icon", "team")},
                              "properties": {**{p: v for p, v in cur["properties"].items() if p in specs},
                                             **w["properties"]},
                              "relations": {**{r: v for r, v in cur["relations"].items() if r in rels},
                                            **w["relations"]}}
                    problems = validate_entity(merged, bp, bp_name)
                    if problems:
                        audit.append(row + ("FAILURE", "; ".join(problems)))
                        continue
                    state[k] = merged
                    audit.append(row + ("SUCCESS", None))
    entities: dict[str, list[dict]] = {bp: [] for bp in blueprints}
    for (bp, _), e in sorted(state.items()):
        entities[bp].append(e)
    return entities, sorted(audit, key=_sort_key)


def _input(record: dict, key: str) -> dict:
    """The jq input Port's webhook makes of a record (as `entity_writes` builds it)."""
    return {"body": {**record, "_PORT_SOURCE_OBJECT_KEY": key}, "headers": {}, "queryParams": {}}


def _lines(mapping: dict, records: list[dict], key: str, n: int, jq: JqCache) -> list[int]:
    """The 1-based source line of each write `entity_writes` gives (records the filter keeps)."""
    inputs = [_input(r, key) for r in records]
    verdicts = jq.first(mapping["filter"], inputs) if mapping.get("filter") else [True] * len(inputs)
    lines = [i + 1 for i, v in enumerate(verdicts) if v is True or (isinstance(v, dict) and ERROR in v)]
    assert len(lines) == n, "itemsToParse is not used by the guides"
    return lines


def _sort_key(row):
    return tuple("" if v is None else str(v) if not isinstance(v, int) else f"{v:09d}" for v in row)


_EXPECTED: dict[str, tuple] = {}


def _expected_for():
    """The corpora and their expected catalog, computed once per run (both targets use them)."""
    if not _EXPECTED:
        corpus = both_corpora()
        _EXPECTED["both"] = (corpus, *expected_catalog(corpus))
    return _EXPECTED["both"]


# --- the catalog as the pipeline made it -------------------------------------------------------------


def _actual_audit(target) -> list[tuple]:
    out = []
    for a in audit_rows(target):
        msg = a["message"]
        if a["status"] == "FAILURE" and msg and msg.startswith("jq error"):
            msg = "jq error: " + msg.split(":")[0].removeprefix("jq error in ").removeprefix("jq error")
        out.append((a["object_key"], a["line"], a["blueprint"], a["identifier"], a["action"], a["status"], msg))
    return sorted(out, key=_sort_key)


def _diff_entities(actual: dict[str, list[dict]], expected: dict[str, list[dict]], origin: dict,
                   limit: int = 40) -> list[str]:
    """One line per differing field; `origin`: (blueprint, identifier) -> the corpus it came from."""
    out = []
    for bp in sorted(expected):
        got = {e["identifier"]: e for e in actual.get(bp, [])}
        want = {e["identifier"]: e for e in expected[bp]}
        for ident in sorted(set(got) | set(want)):
            a, e = got.get(ident), want.get(ident)
            if a is None:
                out.append(f"[{origin.get((bp, ident))}] {bp} {ident!r}: missing from the catalog")
            elif e is None:
                out.append(f"[{origin.get((bp, ident))}] {bp} {ident!r}: in the catalog, not in jq's result")
            elif _typed(a) != _typed(e):
                for part in ("title", "icon", "team", "properties", "relations"):
                    av, ev = a.get(part), e.get(part)
                    if isinstance(ev, dict) and isinstance(av, dict):
                        for f in sorted(set(av) | set(ev)):
                            if _typed(av.get(f, "<absent>")) != _typed(ev.get(f, "<absent>")):
                                out.append(f"[{origin.get((bp, ident))}] {bp} {ident!r}: {part}.{f}: "
                                           f"catalog {_show(av.get(f, '<absent>'))}"
                                           f" != jq {_show(ev.get(f, '<absent>'))}")
                    elif av != ev:
                        out.append(f"[{origin.get((bp, ident))}] {bp} {ident!r}: {part}: "
                                   f"catalog {_show(av)} != jq {_show(ev)}")
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])


def _typed(v):
    """JSON identity: true is not 1, "1" is not 1, but 1.0 is 1 (one JSON number)."""
    return json.dumps(_canon(v), sort_keys=True)


def _canon(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


def _show(v, n: int = 160) -> str:
    t = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return t if len(t) <= n else t[: n - 3] + "..."


def _diff_audit(actual: list[tuple], expected: list[tuple], limit: int = 25) -> list[str]:
    extra = [r for r in actual if r not in expected]
    missing = [r for r in expected if r not in actual]
    out = [f"[{corpus_of(r[0])}] audit only in the catalog: {r}" for r in extra[:limit]]
    out += [f"[{corpus_of(r[0])}] audit only in jq's result: {r}" for r in missing[:limit]]
    if len(extra) > limit or len(missing) > limit:
        out.append(f"... {len(extra)} rows only in the catalog, {len(missing)} only in jq's result")
    return out


# --- the tests ---------------------------------------------------------------------------------


def test_schema_samples_cover_every_field_of_the_published_schemas():
    """The generator reaches every (field, variant) of every guide stream's schema; and the
    samples really vary: empty objects, nulls and fields whose JSON type changes."""
    for g, streams in samples.GUIDE_STREAMS.items():
        for stream in streams:
            objects, sampler = samples.sample_objects(g, stream, SEED)
            assert sampler.uncovered() == [], (g, stream, sampler.uncovered()[:10])
            assert objects == samples.sample_objects(g, stream, SEED)[0]  # deterministic by seed
    records = [r for o in samples.sample_objects("okta", "users", SEED)[0] for r in o]
    assert any(r.get("credentials", {}) and r["credentials"].get("password") == {} for r in records)
    assert {type(r["profile"]).__name__ for r in records if "profile" in r} >= {"dict", "NoneType"}
    nums = [r["payroll"]["employment"]["fte"] for o in samples.sample_objects("hibob", "payroll", SEED)[0] for r in o
            if isinstance(r.get("payroll"), dict) and isinstance(r["payroll"].get("employment"), dict)
            and r["payroll"]["employment"].get("fte") is not None]
    assert {type(n) for n in nums} == {int, float}


def test_recorded_records_are_the_connectors_files():
    rec = {g: {s: len(v) for s, v in samples.recorded_records(g).items()} for g in GUIDES}
    assert rec["slack"] == {"channels": 3, "users": 3, "channel_messages": 11, "threads": 11, "channel_members": 9}
    assert rec["okta"]["users"] == 2 and rec["okta"]["permissions"] == 1 and rec["okta"]["logs"] == 26
    assert rec["hibob"] == {}  # source-hibob records no expected_records.jsonl (see SOURCES.md)
    okta_users = [d for d, _ in samples.recorded_records("okta")["users"]]
    assert okta_users[0]["credentials"]["password"] == {}


@pytest.fixture(params=["duckdb", "postgres"])
def catalog_spec(request):
    """The catalog connection of the pipelines file: a DuckDB file, or a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        yield "{type: duckdb, path: state/catalog.duckdb}"
        return
    pg_url = request.getfixturevalue("pg_url")
    schema = f"guides_ab_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{{type: postgres, url: '{pg_url}', schema: {schema}}}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_port_guides_over_airbyte_data_map_as_jq_sees_the_raw_lines(catalog_pipeline, catalog_spec):
    require_jq()
    p = catalog_pipeline
    corpus, expected, expected_audit = _expected_for()
    assert {corpus_of(k) for objects in corpus.values() for k, _ in objects} == {"samples", "recorded"}
    for objects in corpus.values():
        for key, records in objects:
            p.put(key, records)
    partition = p.partition_of(corpus["slack"][0][0])
    _config(p, catalog_spec)
    for g in GUIDES:
        p.run(g, partition)
    target = open_target(p.load(), "catalog")
    actual = {bp: sorted(export_entities(target, bp), key=lambda e: e["identifier"]) for bp in expected}
    actual_audit = _actual_audit(target)
    origin = {(r[2], r[3]): corpus_of(r[0]) for r in expected_audit + actual_audit}
    problems = _diff_entities(actual, expected, origin) + _diff_audit(actual_audit, expected_audit)
    assert not problems, "the catalog differs from jq on the raw lines:\n" + "\n".join(problems)
