"""Differential tests: the engine's mapping output equals what the `jq` command-line program
computes, on generated records (nulls, missing fields, mixed types, unicode, items arrays), for
mappings using `itemsToParse`, `//`, `tostring`, `tonumber`, `split`, `test()`, `IN`, string `+`,
`ascii_upcase`, indexing and comparisons. Records reach the engine the way they do in production:
as JSON Lines read by the real reader into Arrow batches.

The jq program on this machine is jq 1.6 and the engine's is jq 1.8: they format integral doubles
and integers beyond 2^53 differently, so generated numbers avoid both (the big-integer path is
tested in test_catalog and the staging tests)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3_pipelines.catalog.entities import entity_config
from s3_pipelines.mapping import batch_records, compile_mapping

from .helpers import batches, config
from .jq_oracle import entity_writes, require_jq

MAPPINGS = [
    {"name": "people", "stream": "users", "blueprint": "user",
     "filter": '.body.name != null and (.body.name | test("^[a-mA-M]"))',
     "entity": {"identifier": ".body.id | tostring", "title": '.body.name // "unnamed"',
                "properties": {"region": '.body.meta.region // "none"', "parts": '.body.email | split("@")',
                               "n": ".body.n | tonumber? // .", "vip": '.body.meta.owner.team | IN("a", "b")',
                               "shout": ".body.name | ascii_upcase", "big": ".body.n > 10",
                               "label": '"#" + (.body.id | tostring) + ":" + (.body.tags[0] // "-")'},
                "relations": {"team": ".body.meta.owner.team",
                              "peers": {"combinator": "'and'", "rules": [
                                  {"property": "'region'", "operator": "'='", "value": ".body.meta.region"}]}}}},
    {"name": "lines", "stream": "users", "blueprint": "line", "itemsToParse": ".body.items",
     "filter": ".item.v != null and .item.v > 2",
     "entity": {"identifier": '.item.k + "-" + (.body.id | tostring)',
                "properties": {"v": ".item.v", "parent": ".body.id", "key": ".body._PORT_SOURCE_OBJECT_KEY"}}},
    {"name": "raw", "stream": "users", "blueprint": "user",
     "entity": {"identifier": ".body.id", "properties": {"n_str": ".body.n | tostring", "first": ".body.tags[0]",
                                                        "at": '.body.email | test("@")', "lower": ".body.name | ascii_downcase"}}},
]
# the blueprints declare what the mappings fill (types are checked by the catalog, not compared here)
BLUEPRINTS: dict = {}
for _m in MAPPINGS:
    _bp = BLUEPRINTS.setdefault(_m["blueprint"], {"properties": {}, "relations": {}})
    _bp["properties"].update({p: {"type": "string"} for p in _m["entity"].get("properties", {})})
    _bp["relations"].update({r: {"target": "user", "many": r == "peers"} for r in _m["entity"].get("relations", {})})

text = st.text(alphabet=st.sampled_from(list("abcmnzAMZ @._-éß日本\"\\/") + ["😀"]), max_size=8)
number = st.one_of(st.integers(-(2**40), 2**40), st.integers(-1000, 1000).map(lambda i: i + 0.25))
record = st.fixed_dictionaries(
    {"id": st.one_of(text, st.integers(0, 10**6))},
    optional={
        "name": st.one_of(st.none(), text, st.integers(0, 9)),
        "email": st.one_of(st.none(), text),
        "n": st.one_of(st.none(), number, st.integers(0, 99).map(str), text),
        "tags": st.one_of(st.none(), st.lists(text, max_size=3)),
        # nested objects keep one shape (columns are the union of fields: a missing nested key
        # reads as null, the same as jq on an explicit null)
        "meta": st.one_of(st.none(), st.fixed_dictionaries(
            {"region": st.one_of(st.none(), text), "owner": st.fixed_dictionaries({"team": st.one_of(st.none(), text)})})),
        "items": st.one_of(st.none(), st.lists(st.fixed_dictionaries(
            {"k": text, "v": st.one_of(st.none(), st.integers(-5, 9), text)}), max_size=3), text),
    },
)


def _engine(mapping_name: str, records: list[dict], key: str):
    cfg = config(BLUEPRINTS, MAPPINGS)
    [spec] = [m for m in entity_config(cfg).mappings if m.name == mapping_name]
    out = []
    for batch in batches(records):
        recs, lines = batch_records(batch)
        out += compile_mapping(spec).map_records(recs, key, lines).results
    return out


def _comparable(result) -> dict:
    if result.error:
        return {"blueprint": result.blueprint, "error": True}
    fields = json.loads(json.dumps(result.fields))
    return {"blueprint": result.blueprint, "identifier": result.identifier, **fields,
            "properties": fields.get("properties", {}), "relations": fields.get("relations", {})}


def _oracle(mapping: dict, records: list[dict], key: str) -> list[dict]:
    writes, _ = entity_writes(mapping, records, key)
    return [{"blueprint": w["blueprint"], "error": True} if "error" in w else w for w in writes]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record, min_size=1, max_size=6))
def test_mappings_equal_the_jq_command_line(records):
    require_jq()
    records = json.loads(json.dumps(records))
    key = "data/hook/users/year=2026/month=11/20_1763629200000_0.jsonl.gz"
    for mapping in MAPPINGS:
        got = [_comparable(r) for r in _engine(mapping["name"], records, key)]
        assert got == _oracle(mapping, records, key), mapping["name"]


def test_a_known_record_through_both():
    """One hand-checked record, so the oracle itself is seen to compute the right thing."""
    require_jq()
    rec = {"id": 7, "name": "ann", "email": "ann@x.io", "n": "12", "tags": ["t1"],
           "meta": {"region": None, "owner": {"team": "a"}}, "items": [{"k": "p", "v": 3}, {"k": "q", "v": 1}]}
    key = "data/k.jsonl"
    [people] = _oracle(MAPPINGS[0], [rec], key)
    assert people["identifier"] == "7" and people["title"] == "ann"
    assert people["properties"] == {"region": "none", "parts": ["ann", "x.io"], "n": 12, "vip": True,
                                    "shout": "ANN", "big": True, "label": "#7:t1"}
    assert people["relations"] == {"team": "a", "peers": {"combinator": "and", "rules": [
        {"property": "region", "operator": "=", "value": None}]}}
    assert [w["identifier"] for w in _oracle(MAPPINGS[1], [rec], key)] == ["p-7"]
    for mapping in MAPPINGS:
        assert [_comparable(r) for r in _engine(mapping["name"], [rec], key)] == _oracle(mapping, [rec], key)
