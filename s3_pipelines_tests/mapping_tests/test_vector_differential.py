"""Differential tests: the compiled (vectorized) path of a mapping gives exactly what the jq
engine gives — entities, filtered-out counts, failure messages (jq errors included), identifiers
of failed records — on generated records with nulls, missing fields, wrong types, unicode, big
integers and floats, and generated expressions inside and outside the compiled subset."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3_pipelines.mapping import MappingSpec, compile_mapping
from s3_pipelines.readers.records import json_text_field, table_from_records

KEYS = ["s", "n", "f", "b", "o", "l", "z"]

strings = st.sampled_from(["", "a", "A,b", "ÀÉ ß", "x\n", "archived", "1", "012", "1.5", "abc", "a,,b,", "日本",
                           "😀", "true", "null", " 12", "-3"]) | st.text(max_size=6)
ints = st.sampled_from([0, 1, -1, 42, 2**53, 2**53 + 1, -(2**53) - 3, 2**62, 2**63 - 1, -(2**63)]) | st.integers(-1000, 1000)
floats = st.sampled_from([0.0, -0.0, 1.0, 0.1, 2.5, 1e16, 1e17, 1e-7, 123456.789, 3.0e300, -7.25]) | \
    st.floats(allow_nan=False, allow_infinity=False, width=64)
scalars = st.none() | st.booleans() | ints | floats | strings
objects = st.fixed_dictionaries({}, optional={"x": scalars, "y": st.none() | strings, "team": st.none() | strings})
lists = st.lists(st.none() | ints | strings, max_size=3)

# one type per column (what Arrow gives most of the time); sometimes a mixed one (JSON text)
column_kinds = {"null": st.none(), "bool": st.booleans(), "int": ints, "float": floats, "str": strings,
                "obj": objects, "list": lists, "mixed": scalars | objects | lists}


@st.composite
def record_batches(draw):
    kinds = {k: draw(st.sampled_from(sorted(column_kinds))) for k in KEYS}
    n = draw(st.integers(1, 7))
    records = []
    for _ in range(n):
        rec = {}
        for k in KEYS:
            r = draw(st.integers(0, 9))
            if r == 0:
                continue  # missing field
            rec[k] = None if r == 1 else draw(column_kinds[kinds[k]])
        records.append(rec)
    table, json_cols = table_from_records(records)
    if table.num_columns:
        fields = [json_text_field(f.name) if f.name in json_cols else f for f in table.schema]
        table = pa.Table.from_arrays(table.columns, schema=pa.schema(fields))
    table = table.append_column("_s3_line", pa.array(range(2, 2 + n), pa.int64()))
    return table.combine_chunks().to_batches()[0]


paths = st.sampled_from([f".body.{k}" for k in KEYS] + [
    ".body.o.x", ".body.o.y", ".body.o.team", ".body.s.x", ".body.n.x", ".body.l[0]", ".body.l[-1]", ".body.l[5]",
    ".body.o[0]", ".body.missing", ".body.missing.deeper", ".body._PORT_SOURCE_OBJECT_KEY", ".body", '.body["s"]',
    ".body.b.x", ".body.f.x", ".body.z"])
literals = st.sampled_from(['"a"', '"archived"', "1", "0", "42", "2.5", "true", "false", "null", '"ÀÉ ß"', "-1", '""'])
UNARY = ["tostring", "tonumber", "ascii_downcase", "ascii_upcase", "length", "not", 'split(",")', 'test("^a")',
         'test("b$")', 'test("[0-9]+")', 'has("x")', 'IN(1, "a", null, true)', "@base64", "keys", "ltrimstr(\"a\")"]
BINARY = ["//", "and", "or", "==", "!=", "<", "<=", ">", ">=", "+"]


def exprs(depth: int = 2):
    base = paths | literals
    if depth == 0:
        return base
    sub = exprs(depth - 1)
    return st.one_of(
        base, base,
        st.tuples(sub, st.sampled_from(UNARY)).map(lambda t: f"({t[0]}) | {t[1]}"),
        st.tuples(sub, st.sampled_from(BINARY), sub).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"{{k: ({t[0]}), j: ({t[1]})}}"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]}) | select({t[1]})"),
    )


def _shape(out) -> tuple:
    results = [json.dumps([r.line, r.operation, r.blueprint, r.identifier, r.fields, r.error], ensure_ascii=False)
               for r in out.results]
    return out.filtered_out, results


def assert_same(spec: MappingSpec, batch: pa.RecordBatch, key: str = "data/obj-1.jsonl.gz"):
    mapping = compile_mapping(spec)
    want = mapping.map_batch(batch, key, engine="jq")
    got = mapping.map_batch(batch, key, engine="auto")
    assert _shape(got) == _shape(want), [(d.where, d.engine, d.why) for d in mapping.explain(batch.schema)]


def _spec(filter_, ident, props, rels=None, **kw):
    return MappingSpec(name="m", stream="s", target="catalog", blueprint="bp", identifier=ident, filter=filter_,
                       properties=props, relations=rels or {}, **kw)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(batch=record_batches(), props=st.lists(exprs(), min_size=1, max_size=4), ident=exprs(1))
def test_properties_match_jq(batch, props, ident):
    assert_same(_spec(None, ident, {f"p{i}": e for i, e in enumerate(props)}), batch)


@SETTINGS
@given(batch=record_batches(), flt=exprs(), props=st.lists(exprs(1), min_size=1, max_size=3))
def test_filters_match_jq(batch, flt, props):
    assert_same(_spec(flt, ".body.s", {f"p{i}": e for i, e in enumerate(props)},
                      {"team": ".body.o.team", "both": {"combinator": "'and'", "rules": [".body.s", 7]}},
                      title=".body.s | tostring"), batch)


@settings(max_examples=40, deadline=None)
@given(batch=record_batches(), ident=exprs(1))
def test_delete_mappings_match_jq(batch, ident):
    assert_same(_spec(".body.b", ident, {}, operation="delete"), batch)


REFERENCE = dict(
    filter_='.body.status != "archived" and .body.active', ident=".body.key",
    props={"status": ".body.status", "amount": ".body.amount", "count": ".body.count",
           "region": ".body.meta.region", "createdAt": ".body.created_at"},
    rels={"team": ".body.meta.owner.team", "owner": ".body.email"}, title=".body.name")


def _reference_spec():
    r = REFERENCE
    return _spec(r["filter_"], r["ident"], r["props"], r["rels"], title=r["title"])


def _reference_batch(records):
    table, json_cols = table_from_records(records)
    fields = [json_text_field(f.name) if f.name in json_cols else f for f in table.schema]
    table = pa.Table.from_arrays(table.columns, schema=pa.schema(fields))
    return table.append_column("_s3_line", pa.array(range(1, len(records) + 1), pa.int64())).combine_chunks().to_batches()[0]


def test_reference_mapping_compiles_entirely_and_matches():
    records = [{"key": f"k{i}", "name": f"n{i}", "status": ["active", "archived", None][i % 3], "active": i % 4 != 1,
                "amount": i * 1.5, "count": i, "created_at": "2026-11-01T12:00:00Z", "email": f"u{i}@x.com",
                "meta": {"region": "eu", "owner": {"team": "core" if i % 5 else None}}} for i in range(50)]
    batch = _reference_batch(records)
    mapping = compile_mapping(_reference_spec())
    assert [d.engine for d in mapping.explain(batch.schema)] == ["compiled"] * 10
    assert_same(_reference_spec(), batch)


def test_wrong_types_give_the_jq_engines_audit_failures():
    records = [{"key": 1, "name": "a", "status": "x", "active": True, "meta": "eu"},
               {"key": "k", "name": None, "status": "x", "active": True, "meta": {"region": 3}},
               {"key": "k2", "status": 5, "active": "yes", "meta": None}]
    spec = _spec(".body.active and (.body.status | ascii_downcase) != \"archived\"", ".body.key",
                 {"region": ".body.meta.region", "k": ".body.key | tostring"})
    batch = _reference_batch(records)
    assert_same(spec, batch)
    out = compile_mapping(spec).map_batch(batch, "k")
    errors = [r.error for r in out.results if r.error]
    assert 'jq error in entity.properties.region: Cannot index string with string ("region")' in errors
    assert "jq error in filter: explode input must be a string" in errors


def test_explain_says_why_an_expression_stays_with_jq():
    spec = _spec(".body.s | startswith(\"a\")", ".body.s | @base64", {"a": ".body.f | . * 2", "b": ".body.t"})
    batch = _reference_batch([{"s": "a", "f": 1.5, "t": "2026-01-01"}])
    d = {x.where: x for x in compile_mapping(spec).explain(batch.schema)}
    assert d["filter"].engine == "jq" and "startswith" in d["filter"].why
    assert d["entity.identifier"].engine == "jq" and "@base64" in d["entity.identifier"].why
    assert d["entity.properties.a"].engine == "jq" and "*" in d["entity.properties.a"].why
    assert d["entity.properties.b"].engine == "compiled" and d["entity.properties.b"].why is None
    assert_same(spec, batch)


@pytest.mark.parametrize("expr", [
    ".body.n", ".body.n | tostring", ".body.n == 9007199254740992", ".body.f", ".body.f | tostring",
    "{v: .body.n, w: .body.f}", ".body.n | IN(9007199254740992)", ".body.f | length"])
def test_big_integers_and_floats(expr):
    records = [{"n": v, "f": f} for v, f in [(2**53 + 1, 1e16), (2**63 - 1, 1.0), (-(2**63), -0.0), (12, 0.1),
                                              (None, 1e300), (2**53, 5e-324)]]
    assert_same(_spec(None, ".body.n | tostring", {"x": expr}), _reference_batch(records))
