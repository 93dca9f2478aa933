"""The state seam: versioned migrations (an older ledger upgraded in place, on both backends), a
database newer than the code refused, and connect()'s targets."""

from __future__ import annotations

import datetime as dt

import pytest

from s3_pipelines import state
from s3_pipelines.ledger import MIGRATIONS, Ledger
from s3_pipelines.objects import S3Object
from s3_pipelines.state import StateError
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
LATEST = MIGRATIONS[-1].version

# the ledger's tables as the first release made them (commit 187a591), before versions were recorded
V1_SCHEMA = """
CREATE TABLE objects (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    size INTEGER NOT NULL, last_modified TEXT NOT NULL, partition_key TEXT NOT NULL,
    status TEXT NOT NULL, rows INTEGER, bad_rows INTEGER,
    discovered_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    run_id TEXT, staged TEXT, error TEXT,
    PRIMARY KEY (stream, bucket, key, etag)
);
CREATE INDEX objects_by_partition ON objects (stream, partition_key, status);
CREATE INDEX objects_by_key ON objects (stream, bucket, key);
CREATE TABLE bad_records (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    line INTEGER, reason TEXT NOT NULL, run_id TEXT, at TEXT NOT NULL
);
CREATE INDEX bad_by_object ON bad_records (stream, bucket, key, etag);
CREATE TABLE cursors (name TEXT PRIMARY KEY, cursor TEXT NOT NULL, updated_at TEXT NOT NULL);
INSERT INTO objects VALUES ('s', 'b', 'old-loaded', 'e1', 10, '2026-11-20T12:00:00+00:00', '2026-11-20', 'loaded',
    7, 0, '2026-11-20T12:00:01.000+00:00', NULL, '2026-11-20T12:00:02.000+00:00', 'r0', '/x/a.parquet', NULL);
INSERT INTO objects VALUES ('s', 'b', 'old-pending', 'e1', 10, '2026-11-20T12:00:00+00:00', '2026-11-20', 'pending',
    NULL, NULL, '2026-11-20T12:00:01.000+00:00', NULL, NULL, NULL, NULL, NULL);
INSERT INTO cursors VALUES ('run:s', '{"v":1}', '2026-11-20T12:00:03.000+00:00');
"""
# what the release with partition runs and leases (before this one) added
V3_EXTRA = """
CREATE TABLE partition_runs (
    stream TEXT NOT NULL, partition_key TEXT NOT NULL, run_id TEXT NOT NULL, started_at TEXT NOT NULL,
    PRIMARY KEY (stream, partition_key)
);
CREATE TABLE leases (run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL);
INSERT INTO partition_runs VALUES ('s', '2026-11-20', 'r0', '2026-11-20T12:00:01.000+00:00')
"""


def _make_old(target, sql: str) -> None:
    db = state.connect(target.target, schema=target.schema)
    with db.tx() as con:
        for statement in filter(str.strip, sql.split(";")):
            con.execute(db.ddl(statement))


@pytest.mark.parametrize("old", ["v1", "v3"])
def test_an_older_unversioned_ledger_is_upgraded_in_place(state_db, old):
    _make_old(state_db, V1_SCHEMA + (";" + V3_EXTRA if old == "v3" else ""))
    db = state.connect(state_db.target, schema=state_db.schema)
    assert db.version("ledger") is None  # made before versions were recorded

    led = state_db.ledger()
    assert db.version("ledger") == LATEST
    # what it held is still there, and every table of the newest version works
    rows = {r.obj.key: r for r in led.rows("s")}
    assert rows["old-loaded"].status == "loaded" and rows["old-loaded"].rows == 7
    assert rows["old-loaded"].staged == ["/x/a.parquet"]
    assert led.get_cursor("run:s") == '{"v":1}'
    assert led.open_partition_runs("s") == ({"2026-11-20": "r0"} if old == "v3" else {})
    assert [o.key for o in led.claim("s", "2026-11-20", "r1")] == ["old-pending"]
    assert not led.lease_expired("r1")
    assert led.register("s", [S3Object("b", "new", "e1", 1, T0)], lambda o: "2026-11-20")[0].key == "new"
    # the columns of version 5 (retries of failed objects): old rows start with none
    assert rows["old-loaded"].attempts == 0 and rows["old-loaded"].retry_at is None
    led.finish("s", S3Object("b", "old-pending", "e1", 10, T0), status="failed", error="x", run_id="r1",
               retry_after=lambda n: dt.timedelta(minutes=n))
    failed = led.rows("s", status="failed")[0]
    assert failed.attempts == 1 and failed.retry_at > led.now()
    with db.read() as con:
        indexes = ("SELECT name FROM sqlite_master WHERE type='index'" if db.dialect == "sqlite"
                   else f"SELECT indexname FROM pg_indexes WHERE schemaname='{state_db.schema}'")
        assert "objects_by_status" in {r[0] for r in con.execute(indexes)}

    # opening it again changes nothing
    assert state_db.ledger().rows("s", status="failed")[0].run_id == "r1"
    assert db.version("ledger") == LATEST


def test_a_versioned_ledger_steps_forward_from_its_recorded_version(state_db):
    _make_old(state_db, V1_SCHEMA)
    db = state.connect(state_db.target, schema=state_db.schema)
    db.migrate("ledger", MIGRATIONS[:2])  # an install that knew versions 1 and 2
    assert db.version("ledger") == 2
    state_db.ledger()
    assert db.version("ledger") == LATEST
    with db.read() as con:
        assert con.table_exists("leases")


def test_a_newer_state_database_is_refused(state_db):
    led = state_db.ledger()
    with led.transaction() as con:
        con.execute("UPDATE schema_version SET version=? WHERE component='ledger'", (LATEST + 1,))
    with pytest.raises(StateError, match=f"schema version {LATEST + 1}.*upgrade s3_pipelines"):
        state_db.ledger()


def test_a_fresh_database_gets_every_table(state_db):
    led = state_db.ledger()
    with led.transaction() as con:
        for table in ("objects", "bad_records", "cursors", "partition_runs", "leases", "schema_version"):
            assert con.table_exists(table), table
    assert state.connect(state_db.target, schema=state_db.schema).version("ledger") == LATEST


def test_connect_targets(tmp_path):
    assert state.connect(tmp_path / "a.sqlite").dialect == "sqlite"
    assert state.connect(f"sqlite:///{tmp_path}/b.sqlite").path == tmp_path / "b.sqlite"
    with pytest.raises(ValueError, match="unsupported scheme"):
        state.connect("mysql://x/y")
    pg = state.connect("postgresql://user:hunter2@db.internal:5433/state", schema="s3p")
    assert pg.dialect == "postgres" and "hunter2" not in pg.describe() and "db.internal:5433" in pg.describe()


def test_an_unreachable_server_is_named_without_its_password():
    led_url = "postgresql://user:hunter2@127.0.0.1:1/state?connect_timeout=2"
    with pytest.raises(StateError) as e:
        Ledger(led_url, schema="s3p_unreachable")
    assert "hunter2" not in str(e.value) and "127.0.0.1:1" in str(e.value)
