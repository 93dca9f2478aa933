"""The tables kept beside the ledger go through its state database on both backends: S3
destinations' written objects (sinks/s3/written.py), data sources, events."""

from __future__ import annotations

import datetime as dt

import pytest

from s3_pipelines.sinks.s3.destination import LoadResult, WrittenObject
from s3_pipelines.sinks.s3.written import inputs_done, record_load, transaction, written_objects
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def test_written_objects_live_in_the_ledgers_database(state_db):
    ledger = state_db.ledger()
    obj = WrittenObject("archive", T0, "exports/2026/11/20/12/x.gz", '"e1"', 3, 100, "ab" * 32, ("in1", "in2"), True)
    result = LoadResult("archive", [obj], ["in1", "in2", "in3"])
    with pytest.raises(RuntimeError):
        with transaction(ledger) as db:
            record_load(db, result)
            raise RuntimeError("crash inside the transaction")
    with transaction(ledger) as db:
        assert written_objects(db, "archive") == []  # rolled back together
        record_load(db, result)
        record_load(db, result)  # twice changes nothing
    with transaction(ledger) as db:
        [row] = written_objects(db, "archive")
        assert (row.key, row.rows, row.inputs, row.window_start) == (obj.key, 3, ("in1", "in2"), T0)
        assert inputs_done(db, "archive", ["in1", "in3", "in4"]) == {"in1", "in3"}
