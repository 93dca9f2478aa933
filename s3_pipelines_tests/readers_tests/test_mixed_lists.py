"""A list mixing numbers and booleans is not a list of numbers: Arrow would read `[1.5, false]` as
`[1.5, 0.0]`; the reader keeps such a column as JSON text instead (found by test_record_shape)."""

from s3_pipelines.readers.records import table_from_records


def test_booleans_among_numbers_stay_booleans():
    table, json_cols = table_from_records([{"A": [1.5, False]}, {"A": [2]}])
    assert json_cols == {"A"} and table.column("A").to_pylist() == ["[1.5,false]", "[2]"]


def test_plain_columns_keep_their_types():
    table, json_cols = table_from_records([{"a": 1, "s": {"x": 1}}, {"a": 2.5, "s": {"y": "z"}}])
    assert json_cols == set() and table.column("a").to_pylist() == [1.0, 2.5]
    assert table.column("s").to_pylist() == [{"x": 1, "y": None}, {"x": None, "y": "z"}]
