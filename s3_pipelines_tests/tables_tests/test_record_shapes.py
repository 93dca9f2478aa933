"""Tables over records shaped like real sources write them (both targets): empty objects and arrays
stage and load; a field whose type changes between records is cast as declared, and a record whose
value cannot be cast is one parse exception — never a whole failed object."""

from __future__ import annotations

from .conftest import ndjson_gz
from .test_modes import DETAIL, INPUT, table


def test_a_field_whose_type_changes_is_cast_or_one_parse_exception(lake):
    lake.configure(table(DETAIL, max_parse_exceptions=10))
    records = [
        {"ts": "2024-03-01T10:00:00Z", "city": "x", "n": 1, "meta": {}, "tags": []},
        {"ts": "2024-03-01T11:00:00Z", "city": "y", "n": "7", "meta": {"a": {}}, "tags": [{}]},  # "7" casts to 7
        {"ts": "2024-03-01T12:00:00Z", "city": {"name": "z"}, "n": 3},  # an object as a string: its JSON
        {"ts": "2024-03-01T13:00:00Z", "city": "w", "n": {"v": 1}},  # an object is no long: parse exception
        {"ts": "2024-03-01T14:00:00Z", "city": "v", "n": 2.0, "extra": None},
    ]
    lake.put("in/a.ndjson.gz", ndjson_gz(records))
    report = lake.load("t")
    assert report.rows_persisted == 4 and report.rows_skipped_by_error == 1
    got = sorted((r["city"], r["n"]) for r in lake.rows("t", '"n"'))
    assert got == sorted([("x", 1), ("y", 7), ('{"name":"z"}', 3), ("v", 2)])


def test_declared_input_schema_is_unchanged_by_the_record_text():
    assert [c["name"] for c in INPUT] == ["ts", "city", "n"]  # the table reads typed columns, not _s3_record
