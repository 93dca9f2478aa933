"""Where partitions start without a configured `start`: the first arrival the ledger knows of (on
SQLite and PostgreSQL state), else the current window; read without creating any state."""

from __future__ import annotations

import datetime as dt
import textwrap

import psycopg

from s3_pipelines import partitions
from s3_pipelines.config import load_config
from s3_pipelines.config.models import Partitioning, json_schema
from s3_pipelines.ledger import Ledger
from s3_pipelines.objects import S3Object
from s3_pipelines.partition_starts import resolve_starts
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 13, 25, tzinfo=UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def day(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d")


def obj(key: str, last_modified: dt.datetime) -> S3Object:
    return S3Object("b", key, "e-" + key, 10, last_modified)


def test_a_configured_start_clamps_older_objects_into_the_first_partition():
    p = Partitioning(start=dt.date(2026, 11, 18))
    assert partitions.partition_key(p, NOW - dt.timedelta(days=400), NOW) == "2026-11-18"
    assert partitions.partition_key(p, NOW - dt.timedelta(days=1), NOW) == "2026-11-19"
    assert partitions.window(p, "2026-11-18", NOW)[0] == dt.datetime.min.replace(tzinfo=UTC)  # holds the older
    assert partitions.window(p, "2026-11-19", NOW) == (NOW.replace(day=19, hour=0, minute=0), NOW.replace(hour=0, minute=0))
    hourly = Partitioning(granularity="hour", start="2026-11-20T09:00:00Z")  # an hour is a start too
    assert isinstance(hourly.start, dt.datetime)
    assert partitions.partition_key(hourly, NOW - dt.timedelta(days=2), NOW) == "2026-11-20-09:00"
    assert partitions.start_of(Partitioning(start="2026-11-18")) == dt.datetime(2026, 11, 18, tzinfo=UTC)


def test_before_any_arrival_older_objects_go_to_the_window_they_are_registered_in():
    """A provisional start (the ledger was empty at load) is not where older objects go: a process
    loaded later, the ledger still empty, starts later, and would not know that key."""
    p = Partitioning(start=dt.datetime(2026, 11, 17, tzinfo=UTC))
    p._provisional = True
    assert partitions.partition_key(p, NOW - dt.timedelta(days=30), NOW) == "2026-11-20"
    assert partitions.window(p, "2026-11-20", NOW)[0] == dt.datetime.min.replace(tzinfo=UTC)
    start, end = partitions.window(p, "2026-11-18", NOW)  # a hand-launched earlier window registers nothing
    assert start == end
    unresolved = Partitioning()  # a caller that did not resolve behaves the same
    assert partitions.partition_key(unresolved, NOW - dt.timedelta(days=30), NOW) == "2026-11-20"


def write_config(tmp_path, state_db, monkeypatch) -> None:
    if state_db.backend == "sqlite":
        state = f"state: {{ledger_path: {state_db.target}}}"
    else:
        monkeypatch.setenv("S3P_TEST_STATE_URL", state_db.target)
        state = f"state: {{database: {{env: S3P_TEST_STATE_URL}}, schema: {state_db.schema}}}"
    (tmp_path / "pipelines.yaml").write_text(textwrap.dedent("""
        connections:
          lake: {type: s3, bucket: bkt, region: us-east-1}
        streams:
          daily: {connection: lake, select: {prefixes: [d/]}}
          hourly: {connection: lake, select: {prefixes: [h/]}, partitioning: {granularity: hour}}
          fixed: {connection: lake, select: {prefixes: [f/]}, partitioning: {start: 2026-01-05}}
    """) + state + "\n")


def state_exists(state_db) -> bool:
    if state_db.backend == "sqlite":
        from pathlib import Path

        return Path(state_db.target).exists()
    with psycopg.connect(state_db.target) as con:
        return con.execute("SELECT 1 FROM pg_namespace WHERE nspname=%s", (state_db.schema,)).fetchone() is not None


def test_starts_come_from_the_ledger_read_without_creating_it(state_db, tmp_path, monkeypatch):
    write_config(tmp_path, state_db, monkeypatch)
    before = utc_now()
    cfg = resolve_starts(load_config(tmp_path / "pipelines.yaml"))
    streams = cfg.streams
    # nothing registered yet: the current window, and no state database was made to find that out
    assert not state_exists(state_db)
    assert partitions.start_of(streams["daily"].partitioning) == partitions.floor(before, "day")
    assert streams["daily"].partitioning._provisional
    assert partitions.start_of(streams["hourly"].partitioning) in {partitions.floor(t, "hour") for t in (before, utc_now())}
    assert streams["fixed"].partitioning.start == dt.date(2026, 1, 5)  # a configured start wins
    # registered: three days ago for the daily stream (an explicit start let that happen), an hour for the hourly one
    ledger = state_db.ledger()
    then = Partitioning(start=dt.date(2020, 1, 1))
    ledger.register("daily", [obj("d/1", before - dt.timedelta(days=3)), obj("d/2", before - dt.timedelta(days=1))],
                    lambda o: partitions.partition_key(then, o.last_modified))
    ledger.register("hourly", [obj("h/1", before - dt.timedelta(hours=5))],
                    lambda o: partitions.partition_key(Partitioning(granularity="hour", start=then.start), o.last_modified))
    ledger.register("fixed", [obj("f/1", before - dt.timedelta(days=9))], lambda o: day(before - dt.timedelta(days=9)))
    cfg = resolve_starts(load_config(tmp_path / "pipelines.yaml"))
    assert partitions.start_of(cfg.streams["daily"].partitioning) == partitions.floor(before - dt.timedelta(days=3), "day")
    assert not cfg.streams["daily"].partitioning._provisional
    assert partitions.start_of(cfg.streams["hourly"].partitioning) == partitions.floor(before - dt.timedelta(hours=5), "hour")
    assert cfg.streams["fixed"].partitioning.start == dt.date(2026, 1, 5)
    # older objects found later clamp into the first arrival's partition, where a later load starts too
    assert partitions.partition_key(cfg.streams["daily"].partitioning, before - dt.timedelta(days=50)) \
        == day(before - dt.timedelta(days=3))


def test_an_unreadable_state_falls_back_to_the_current_window(tmp_path, monkeypatch):
    bad = tmp_path / "ledger.sqlite"
    bad.write_bytes(b"this is not a SQLite database" * 100)
    (tmp_path / "pipelines.yaml").write_text(textwrap.dedent(f"""
        connections:
          lake: {{type: s3, bucket: bkt, region: us-east-1}}
        streams:
          s: {{connection: lake, select: {{prefixes: [s/]}}}}
        state: {{ledger_path: {bad}}}
    """))
    cfg = resolve_starts(load_config(tmp_path / "pipelines.yaml"))
    assert cfg.streams["s"].partitioning._provisional
    assert partitions.start_of(cfg.streams["s"].partitioning) == partitions.floor(utc_now(), "day")
    # a ledger whose first key is not a daily or hourly key: same
    bad.unlink()
    Ledger(bad).register("s", [obj("s/1", NOW)], lambda o: "not-a-key")
    cfg = resolve_starts(load_config(tmp_path / "pipelines.yaml"))
    assert cfg.streams["s"].partitioning._provisional
    # a PostgreSQL state nobody answers for: same, without hanging the code location's load
    monkeypatch.setenv("S3P_TEST_STATE_URL", "postgresql://nobody@127.0.0.1:9/none")
    text = (tmp_path / "pipelines.yaml").read_text().replace(f"{{ledger_path: {bad}}}",
                                                               "{database: {env: S3P_TEST_STATE_URL}}")
    (tmp_path / "pipelines.yaml").write_text(text)
    cfg = resolve_starts(load_config(tmp_path / "pipelines.yaml"))
    assert cfg.streams["s"].partitioning._provisional


def test_an_absent_start_is_documented_in_the_json_schema():
    start = json_schema()["$defs"]["Partitioning"]["properties"]["start"]
    assert start["default"] is None and "first arrival" in start["description"]
    assert {"date", "date-time"} <= {t.get("format") for t in start["anyOf"]}

