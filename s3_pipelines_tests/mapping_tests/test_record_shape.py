"""Records keep their JSON shape: heterogeneous JSON Lines records (different key sets per record,
empty objects and arrays, arrays of nulls, a field that is a string in one record and an object in
the next, keys with dots, spaces, unicode or differing only in case, null versus absent, numbers
beyond 64 bits or with exponents) go through the real reader and Parquet staging, and every
mapping — compiled path and jq engine alike — gives exactly what the jq engine gives when it is run
on each raw line by itself, record by record, failures and their messages included."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3_pipelines.mapping import MappingSpec, compile_mapping
from s3_pipelines.readers import RECORD_COLUMN, ReadOptions, read_batches

KEY = "data/hook/users/year=2026/month=11/20_1763629200000_0.jsonl.gz"
NAMES = ["id", "a", "A", "a.b", "a b", "ñame", "settings", "optional", "credentials", "n"]


class BytesSource:
    def __init__(self, key: str, data: bytes):
        self.key, self.data = key, data

    def open_stream(self):
        return io.BytesIO(self.data)

    def open_random_access(self):
        return io.BytesIO(self.data)


def staged(lines: list[str], key: str = "data/obj.jsonl") -> pa.RecordBatch:
    """The object read by the real reader, staged to Parquet and read back (what mappings see)."""
    bad = []
    batches = list(read_batches(BytesSource(key, ("\n".join(lines) + "\n").encode()), None, ReadOptions(), bad.append))
    assert bad == []
    buf = io.BytesIO()
    table = pa.Table.from_batches(batches)
    pq.write_table(table, buf)
    return pq.read_table(io.BytesIO(buf.getvalue())).combine_chunks().to_batches()[0]


def _shape(out) -> tuple:
    rows = [json.dumps([r.line, r.operation, r.blueprint, r.identifier, r.fields, r.error], ensure_ascii=False)
            for r in out.all_results()]
    return out.filtered_out, rows


def assert_exact(spec: MappingSpec, lines: list[str]):
    mapping = compile_mapping(spec)
    want = mapping.map_texts(lines, KEY, list(range(1, len(lines) + 1)))  # jq on each raw line
    batch = staged(lines)
    for engine in ("auto", "jq"):
        got = mapping.map_batch(batch, KEY, engine=engine)
        assert _shape(got) == _shape(want), (engine, [(d.where, d.engine, d.why) for d in mapping.explain(batch.schema)])


def _spec(ident, props, filter_=None, rels=None, **kw):
    return MappingSpec(name="m", stream="s", target="catalog", blueprint="bp", identifier=ident, filter=filter_,
                       properties=props, relations=rels or {}, **kw)


# --- the cases the issue names, one by one -------------------------------------------------------------

MIXED = [
    '{"id":"u1","credentials":{"password":{},"provider":{"type":"OKTA","name":"OKTA"}},"settings":{"a":1},'
    '"profile":{"x":1,"y":2},"attrs":{"k":"v"},"optional":null}',
    '{"id":"u2","settings":{"inner":{"deep":[]}},"profile":{"x":1},"attrs":{},"credentials":{"provider":{}}}',
    '{"id":"u3","settings":{},"profile":{},"attrs":{"k":null,"K":1},"extra":[null,null],"e":[{}]}',
]


@pytest.mark.parametrize("expr", [
    ".body.settings", ".body.profile | keys | length", ".body.attrs | keys", '.body.credentials | has("password")',
    '.body | has("optional")', ".body.credentials", ".body.credentials.password", ".body.e", ".body.extra",
    ".body.profile | length", ".body | keys", ".body.attrs | to_entries", ".body.settings.inner // \"none\"",
    ".body.optional // \"absent-or-null\"", '.body | has("extra")', "[.body.profile[]]", ".body.settings | tostring",
])
def test_whole_objects_and_key_sets_are_the_records_own(expr):
    assert_exact(_spec(".body.id", {"p": expr}), MIXED)


def test_an_object_property_does_not_gain_other_records_keys():
    batch = staged(MIXED)
    out = compile_mapping(_spec(".body.id", {"settings": ".body.settings"})).map_batch(batch, KEY)
    assert [r.fields["properties"]["settings"] for r in out.all_results()] == [{"a": 1}, {"inner": {"deep": []}}, {}]


def test_one_numeric_id_does_not_turn_the_others_into_quoted_text():
    # Port's Slack mapping: `.body.id | tostring`; one channel's id is a number
    lines = [json.dumps({"id": f"C0{i}", "name": f"c{i}"}) for i in range(5)] + ['{"id": 12345, "name": "odd"}']
    out = compile_mapping(_spec(".body.id | tostring", {})).map_batch(staged(lines), KEY)
    assert [r.identifier for r in out.all_results()] == ["C00", "C01", "C02", "C03", "C04", "12345"]
    assert_exact(_spec(".body.id | tostring", {"name": ".body.name"}), lines)


NUMBERS = ['{"id":"a","n":1.50,"m":1e3,"b":123456789012345678901234567890,"z":-0.0}',
           '{"id":"b","n":2,"m":10,"b":1,"z":0}', '{"id":"c","n":1.0,"m":1E-2}']


@pytest.mark.parametrize("expr", [".body.n", ".body.n | tostring", ".body.m | tostring", ".body.m", ".body.b",
                                  ".body.b | tostring", ".body.z | tostring", ".body.n + 1", "{n: .body.n}"])
def test_number_literals(expr):
    assert_exact(_spec(".body.id", {"p": expr}), NUMBERS)


def test_ten_thousand_keys_in_one_record():
    big = {f"k{i}": i for i in range(10_000)}
    lines = [json.dumps({"id": "x", **big}), '{"id":"y","k5":"five"}']
    assert_exact(_spec(".body.id", {"n": ".body | length", "k5": ".body.k5", "k9999": ".body.k9999"}), lines)


def test_items_to_parse_over_records_with_different_shapes():
    lines = ['{"id":"a","items":[{"v":1},{"w":{}}]}', '{"id":"b","items":[]}', '{"id":"c"}']
    spec = _spec(".item.v // \"none\" | tostring", {"whole": ".item", "keys": ".item | keys"},
                 items=".body.items")
    assert_exact(spec, lines)


# --- generated: heterogeneous records and expressions over whole objects and arrays ---------------------

numbers = st.sampled_from(["0", "-1", "7", "1.5", "1.50", "1e3", "2.5E-3", "123456789012345678901234", "-0.0",
                           "9007199254740993", "1.0"])
scalars = st.none() | st.booleans() | numbers.map(lambda t: ("num", t)) | \
    st.sampled_from(["", "a", "A", "x y", "ñ", "😀", "1", "true"])
keys = st.sampled_from(NAMES)


def json_values():
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=4),
                        max_leaves=8)


def render(v) -> str:
    """JSON text, with number literals kept as written (1.50, 1e3, big integers)."""
    if isinstance(v, tuple):
        return v[1]
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{render(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(render(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


records = st.dictionaries(keys, json_values(), max_size=6).map(render)

paths = st.sampled_from([".body"] + [f".body[{json.dumps(k, ensure_ascii=False)}]" for k in NAMES] + [
    ".body.id", ".body.settings.a", ".body.settings.inner", ".body.a.a", ".body.n[0]", ".body.missing"])
UNARY = ["keys", 'has("a")', 'has("id")', "length", "to_entries", "map(type)", "tostring", "type", "tojson",
         '.[]?', "keys_unsorted", "add", "values", "tostring | length", ". == {}", ". == []", "not",
         'map_values(1)?', "ascii_downcase?", "[paths]"]


def exprs():
    leaf = paths | st.sampled_from(['"lit"', "null", "1"])
    return st.one_of(
        leaf,
        st.tuples(paths, st.sampled_from(UNARY)).map(lambda t: f"{t[0]} | {t[1]}"),
        st.tuples(paths, leaf).map(lambda t: f"{t[0]} // {t[1]}"),
        st.tuples(paths, paths).map(lambda t: f"{{x: {t[0]}, y: {t[1]}}}"),
        st.tuples(paths, paths).map(lambda t: f"{t[0]} == {t[1]}"),
    )


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(lines=st.lists(records, min_size=1, max_size=6), props=st.lists(exprs(), min_size=1, max_size=4),
       ident=exprs())
def test_generated_records_map_exactly_as_jq_on_the_raw_line(lines, props, ident):
    assert_exact(_spec(ident, {f"p{i}": e for i, e in enumerate(props)}), lines)


@SETTINGS
@given(lines=st.lists(records, min_size=1, max_size=6), flt=exprs(), props=st.lists(exprs(), min_size=1, max_size=2))
def test_generated_filters_and_relations_match_jq_on_the_raw_line(lines, flt, props):
    spec = _spec(".body.id", {f"p{i}": e for i, e in enumerate(props)}, filter_=flt,
                 rels={"r": ".body.settings", "s": {"combinator": "'and'", "rules": [".body.a", 7]}})
    assert_exact(spec, lines)


def test_the_staged_record_text_is_the_line():
    batch = staged(MIXED)
    assert batch.column(RECORD_COLUMN).to_pylist() == MIXED
