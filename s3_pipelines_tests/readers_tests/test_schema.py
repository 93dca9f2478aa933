import datetime as dt

import pyarrow as pa
import pytest

from s3_pipelines.config.models import ColumnSpec
from s3_pipelines.objects import BadRecordError

from .helpers import col, read_bytes

UTC = dt.timezone.utc


def schema(**types):
    return tuple(ColumnSpec(name=n, type=t) for n, t in types.items())


def test_declared_columns_in_order_missing_null_undeclared_dropped(tmp_path):
    data = b'{"b": "2", "a": 1, "extra": true, "_airbyte_raw_id": "r1"}\n'
    t, bad = read_bytes(tmp_path, "a.jsonl", data, schema=schema(a="long", b="long", c="string"))
    assert bad == []
    assert t.column_names == ["a", "b", "c", "_airbyte_raw_id", "_s3_bucket", "_s3_key", "_s3_etag", "_s3_row", "_s3_line"]
    assert t.schema.field("b").type == pa.int64() and col(t, "b") == [2] and col(t, "c") == [None]
    assert t.schema.field("c").type == pa.string()


def test_uncastable_value_is_a_bad_record_naming_column_and_value(tmp_path):
    data = b'{"amount": 1}\n{"amount": "abc"}\n{"amount": "7"}\n{"amount": 2.5}\n'
    t, bad = read_bytes(tmp_path, "a.jsonl", data, schema=schema(amount="long"))
    assert [(b.line, b.reason) for b in bad] == [
        (2, "column amount: 'abc' is not a long"),
        (4, "column amount: 2.5 is not a long"),
    ]
    assert col(t, "amount") == [1, 7] and col(t, "_s3_row") == [1, 3]


def test_bad_value_under_fail_policy(tmp_path):
    with pytest.raises(BadRecordError, match="column n: 'x' is not a double"):
        read_bytes(tmp_path, "a.csv", b"n\n1\nx\n", schema=schema(n="double"), on_error="fail")


def test_all_types_from_json(tmp_path):
    data = (
        b'{"s": 5, "d": "1.5", "b": "true", "t": "2024-01-02T03:04:05Z", "day": "2024-01-02", "j": {"x": [1]}}\n'
        b'{"s": "x", "d": 2, "b": false, "t": 1700000000, "day": "2024-01-03T23:00:00-02:00", "j": "text"}\n'
    )
    t, bad = read_bytes(tmp_path, "a.jsonl", data, schema=schema(s="string", d="double", b="boolean", t="timestamp", day="date", j="json"))
    assert bad == []
    assert [t.schema.field(n).type for n in ["s", "d", "b", "t", "day", "j"]] == [
        pa.string(), pa.float64(), pa.bool_(), pa.timestamp("us", tz="UTC"), pa.date32(), pa.string()
    ]
    assert col(t, "s") == ["5", "x"]
    assert col(t, "d") == [1.5, 2.0]
    assert col(t, "b") == [True, False]
    assert col(t, "t") == [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]
    assert col(t, "day") == [dt.date(2024, 1, 2), dt.date(2024, 1, 4)]
    assert col(t, "j") == ['{"x":[1]}', '"text"']


@pytest.mark.parametrize(
    "values,expected",
    [
        (["2024-01-01T10:00:00Z", "2024-01-01T12:00:00+02:00"], [dt.datetime(2024, 1, 1, 10, tzinfo=UTC)] * 2),
        (["2024-01-01 10:00:00", "2024-01-01T10:00:00.5"], [dt.datetime(2024, 1, 1, 10, tzinfo=UTC), dt.datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)]),
        (["2024-01-01", "2024-01-01T10:00:00Z"], [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 1, 10, tzinfo=UTC)]),
        ([1704103200, 1704103200000], [dt.datetime(2024, 1, 1, 10, tzinfo=UTC)] * 2),
        ([1704103200.5], [dt.datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)]),
    ],
)
def test_timestamp_rule(tmp_path, values, expected):
    import json

    data = b"".join(json.dumps({"t": v}).encode() + b"\n" for v in values)
    t, bad = read_bytes(tmp_path, "a.jsonl", data, schema=schema(t="timestamp"))
    assert bad == [] and col(t, "t") == expected


def test_csv_text_cast_and_json_column(tmp_path):
    data = b'n,t,j,flag\n1,1704103200,"{""a"": 1}",1\n2,2024-01-01,"[1,2]",no\n'
    t, bad = read_bytes(tmp_path, "a.csv", data, schema=schema(n="long", t="timestamp", j="json", flag="boolean"))
    assert [(b.line, b.reason) for b in bad] == [(3, "column flag: 'no' is not a boolean")]
    assert col(t, "j") == ['{"a": 1}'] and col(t, "t") == [dt.datetime(2024, 1, 1, 10, tzinfo=UTC)]
    _, bad = read_bytes(tmp_path, "b.csv", b"j\nnot json\n", schema=schema(j="json"))
    assert bad[0].reason == "column j: 'not json' is not valid JSON"


def test_conflict_column_json_text_is_cast_from_its_values(tmp_path):
    data = b'{"a": 1, "b": "x"}\n{"a": {"k": 2}, "b": "y"}\n{"a": "3", "b": "z"}\n'
    t, bad = read_bytes(tmp_path, "a.jsonl", data, schema=schema(a="long", b="string"))
    assert [(b.line, b.reason) for b in bad] == [(2, 'column a: {"k":2} is not a long')]
    assert col(t, "a") == [1, 3] and col(t, "b") == ["x", "z"]


def test_integer_overflow_is_a_bad_record(tmp_path):
    _, bad = read_bytes(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": 123456789012345678901234}\n', schema=schema(a="long"))
    assert [b.line for b in bad] == [2]
    t, bad = read_bytes(tmp_path, "b.jsonl", b'{"a": 1}\n{"a": 123456789012345678901234}\n', schema=schema(a="string"))
    assert bad == [] and col(t, "a") == ["1", "123456789012345678901234"]
