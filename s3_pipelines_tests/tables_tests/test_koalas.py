"""Seed 003's example job, as written for Polaris (camelCase names), on a real local S3 server."""

import datetime as dt

import pytest

from s3_pipelines.tables import TooManyParseExceptions

from .conftest import ndjson_gz

KEY = "polaris-ingest/demo-file.json.gz"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def koalas_job(bucket: str, **extra) -> dict:
    """The seed's request body, target and source flattened into one `tables` entry."""
    return {
        "tableName": "Koalas",
        "createTableIfNotExists": True,
        "connectionName": "lake",
        "uris": [f"s3://{bucket}/{KEY}"],
        "formatSettings": {"format": "nd-json"},
        "inputSchema": [
            {"dataType": "string", "name": "timestamp"},
            {"dataType": "string", "name": "city"},
            {"dataType": "string", "name": "session"},
            {"dataType": "long", "name": "session_length"},
        ],
        "mappings": [
            {"columnName": "__time", "expression": 'TIME_PARSE("timestamp")'},
            {"columnName": "city", "expression": '"city"'},
            {"columnName": "session", "expression": '"session"'},
            {"columnName": "max_session_length", "expression": 'MAX("session_length")', "isAggregation": True},
        ],
        **extra,
    }


SESSIONS = [
    {"timestamp": "2022-06-01T00:00:00.000Z", "city": "Sydney", "session": "S1", "session_length": 10},
    {"timestamp": "2022-06-01T00:00:00.000Z", "city": "Sydney", "session": "S1", "session_length": 30},
    {"timestamp": "2022-06-01T00:00:00.000Z", "city": "Brisbane", "session": "S2", "session_length": 5},
    {"timestamp": "2022-06-01T01:00:00.000Z", "city": "Sydney", "session": "S1", "session_length": 7},
    {"timestamp": "not a time", "city": "Perth", "session": "S3", "session_length": 1},
    {"timestamp": "2022-06-01T02:00:00Z", "city": "Perth", "session": "S4", "session_length": "long?"},
]


def test_seed_koalas_job_makes_the_rollup_table(lake):
    lake.put(KEY, ndjson_gz(SESSIONS))
    lake.configure({"koalas": koalas_job(lake.conn.bucket)})
    report = lake.load("koalas")
    assert lake.rows("Koalas", '"__time", city') == [
        {"__time": utc(2022, 6, 1, 0), "city": "Brisbane", "session": "S2", "max_session_length": 5, "__count": 1},
        {"__time": utc(2022, 6, 1, 0), "city": "Sydney", "session": "S1", "max_session_length": 30, "__count": 2},
        {"__time": utc(2022, 6, 1, 1), "city": "Sydney", "session": "S1", "max_session_length": 7, "__count": 1},
    ]
    assert (report.status, report.rows_processed, report.rows_persisted, report.rows_skipped_by_error) == \
        ("completed", 6, 3, 2)
    reasons = {(e.key, e.line): e.reason for e in report.exceptions}
    assert reasons == {
        (KEY, 5): '__time: TIME_PARSE("timestamp") gave no timestamp',
        (KEY, 6): "column session_length: 'long?' is not a long",
    }
    # the columns have the types the mappings give, in both dialects
    with lake.target.transaction() as tx:
        types = tx.table_columns("Koalas")
    assert types["__time"] == "timestamp with time zone" and types["max_session_length"] == "bigint"
    assert types["__count"] == "bigint" and types["city"] in ("varchar", "text")


def test_more_parse_exceptions_than_allowed_fails_and_writes_nothing(lake):
    lake.put(KEY, ndjson_gz(SESSIONS))
    lake.configure({"koalas": koalas_job(lake.conn.bucket, maxParseExceptions=1)})
    with pytest.raises(TooManyParseExceptions, match=r"2 parse exception\(s\), more than max_parse_exceptions \(1\)"):
        lake.load("koalas")
    assert lake.rows("Koalas", "city") == []
    with lake.target.transaction() as tx:
        assert tx.loaded_version("table:koalas", lake.conn.bucket, KEY) is None
