"""Append and replace on DuckDB and PostgreSQL (the `lake` fixture runs each test on both): loading
the same objects again adds nothing, a changed object replaces its rows, replace swaps the `__time`
intervals it covers and nothing else; a missing table or a conflicting column type is a clear error."""

from __future__ import annotations

import datetime as dt

import pytest

from s3_pipelines.tables.table_schema import TableSchemaError

from .conftest import ndjson_gz

INPUT = [{"name": "ts", "type": "string"}, {"name": "city", "type": "string"}, {"name": "n", "type": "long"}]
DETAIL = [{"column": "__time", "expression": 'TIME_PARSE("ts")'}, {"column": "city", "expression": '"city"'},
          {"column": "n", "expression": '"n"'}]
ROLLUP = [{"column": "__time", "expression": "TIME_FLOOR(TIME_PARSE(\"ts\"), 'P1D')"},
          {"column": "city", "expression": '"city"'}, {"column": "total", "expression": 'SUM("n")'}]


def utc(*a):
    return dt.datetime(*a, tzinfo=dt.timezone.utc)


def rec(day: int, city: str, n: int) -> dict:
    return {"ts": f"2024-03-{day:02d}T10:00:00Z", "city": city, "n": n}


def table(mappings, mode="append", **extra) -> dict:
    return {"t": {"connection": "lake", "prefixes": ["in/"], "format_settings": {"format": "nd-json"},
                  "input_schema": INPUT, "mappings": mappings, "ingestion_mode": mode,
                  "create_table_if_not_exists": True, **extra}}


def rows(lake, *cols):
    return [tuple(r[c] for c in cols) for r in lake.rows("t", ", ".join(f'"{c}"' for c in cols))]


def test_append_twice_adds_nothing_and_a_changed_object_replaces_its_rows(lake):
    lake.configure(table(DETAIL))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1), rec(2, "y", 2)]))
    lake.put("in/b.ndjson.gz", ndjson_gz([rec(1, "z", 3)]))
    assert lake.load("t").rows_persisted == 3
    again = lake.load("t")
    assert (again.objects_applied, again.rows_persisted, again.objects_already_loaded) == (0, 0, 2)
    assert rows(lake, "city", "n") == [("x", 1), ("y", 2), ("z", 3)]
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 10)]))  # a new version of a: its old rows go
    changed = lake.load("t")
    assert changed.rebuilt and rows(lake, "city", "n") == [("x", 10), ("z", 3)]


def test_rollup_append_twice_keeps_the_groups(lake):
    lake.configure(table(ROLLUP))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1), rec(1, "x", 2), rec(2, "x", 5)]))
    lake.load("t")
    lake.load("t")
    lake.put("in/b.ndjson.gz", ndjson_gz([rec(1, "x", 4)]))
    lake.load("t")
    assert rows(lake, "__time", "city", "total", "__count") == [(utc(2024, 3, 1), "x", 7, 3), (utc(2024, 3, 2), "x", 5, 1)]


def test_replace_swaps_only_the_intervals_it_loads(lake):
    lake.configure(table(DETAIL, "replace", partitioning_granularity="day"))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1), rec(2, "y", 2)]))
    lake.load("t")
    assert lake.load("t").rows_persisted == 2  # running it again gives the same table
    assert rows(lake, "city", "n") == [("x", 1), ("y", 2)]
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(2, "y", 20), rec(2, "w", 21)]))  # day 2 only now
    report = lake.load("t")
    assert report.intervals and all("2024-03-02" in i for i in report.intervals)
    # day 1 is not in this load's intervals: its row stays; day 2 is replaced
    assert rows(lake, "__time", "city", "n") == [(utc(2024, 3, 1, 10), "x", 1), (utc(2024, 3, 2, 10), "w", 21),
                                                 (utc(2024, 3, 2, 10), "y", 20)]


def test_replace_without_time_replaces_the_whole_table(lake):
    lake.configure(table([{"column": "city", "expression": '"city"'}, {"column": "n", "expression": '"n"'}], "replace"))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1), rec(2, "y", 2)]))
    lake.load("t")
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(3, "q", 9)]))
    lake.load("t")
    assert rows(lake, "city", "n") == [("q", 9)]


def test_a_missing_table_without_create_is_a_clear_error(lake):
    lake.configure(table(DETAIL, create_table_if_not_exists=False))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1)]))
    with pytest.raises(TableSchemaError, match=r"create_table_if_not_exists is false"):
        lake.load("t")


def test_a_column_type_conflict_names_the_column(lake):
    with_text = [DETAIL[0], DETAIL[1], {"column": "n", "expression": 'CAST("n" AS VARCHAR)'}]
    lake.configure(table(with_text))
    lake.put("in/a.ndjson.gz", ndjson_gz([rec(1, "x", 1)]))
    lake.load("t")
    lake.configure(table(DETAIL))  # now n is a long: the existing table has text
    lake.put("in/b.ndjson.gz", ndjson_gz([rec(2, "y", 2)]))
    with pytest.raises(TableSchemaError) as e:
        lake.load("t")
    assert "column 'n' is " in str(e.value) and "gives BIGINT (long)" in str(e.value), str(e.value)
