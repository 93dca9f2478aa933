"""One failure model for objects that cannot be read (issue 14), against a real moto server and real
processes: under `on_error: skip_record` an unreadable object fails its partition's run (a failed
step for `dagster asset materialize`, exit 1 from `s3-pipelines run`, every time until the object
is replaced) after its neighbours loaded; `skip_file` skips it and succeeds; the stream sensor
retries it with backoff."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg

from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.dagster_defs.stream_assets import records_key

from .conftest import materialization, parse_check, step_failure, today
from .corpus import GOOD_ROWS, PARQUET, good_object

BAD, CORRUPT = "in/bad.parquet", PARQUET[: len(PARQUET) // 2]
STREAM = {"select": {"prefixes": ["in/"]}, "format": "parquet"}


def setup(lake, **stream) -> str:
    lake.configure({"s": {**STREAM, **stream}})
    good_key, body = good_object("parquet")
    lake.put(good_key, body)
    lake.put(BAD, CORRUPT)
    return good_key


def cli(lake, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **lake.env}, cwd=lake.root)


def s3p_run(lake) -> subprocess.CompletedProcess:
    return cli(lake, "s3_pipelines.cli", "run", "--config", str(lake.config))


def test_dagster_asset_materialize_fails_the_step_after_loading_the_good_object(lake, monkeypatch):
    good_key = setup(lake)
    r = cli(lake, "dagster", "asset", "materialize", "-m", "s3_pipelines.definitions",
            "--select", "s/objects,s/records", "--partition", today())
    assert r.returncode != 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Materialization failed" in r.stderr, r.stderr[-3000:]
    assert lake.row("s", good_key).status == "loaded" and lake.staged("s", good_key).num_rows == GOOD_ROWS
    bad = lake.row("s", BAD)
    assert bad.status == "failed" and bad.error.startswith(BAD) and bad.attempts == 1
    # the run's record names the failed step, and its description the stream, partition and object
    monkeypatch.setenv("DAGSTER_HOME", lake.env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert [run.status for run in runs] == [dg.DagsterRunStatus.FAILURE]
        failures = [e for e in instance.all_logs(runs[0].run_id) if e.dagster_event and e.dagster_event.is_step_failure]
    assert [e.step_key for e in failures] == ["s__records"]
    text = failures[0].dagster_event.step_failure_data.user_failure_data.description
    assert text.startswith(f"stream s, partition {today()}: 1 object(s) could not be read: {BAD}"), text


def test_run_exits_1_while_the_object_is_unreadable_and_0_once_replaced(lake):
    setup(lake)
    for attempt in (1, 2):  # failed objects are read again by each `run`, not left behind
        r = s3p_run(lake)
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
        errors = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(errors) == 1, r.stderr  # one line for the asset, no stack trace
        assert errors[0].startswith(f"error: s: s/records [{today()}]: stream s, partition {today()}"), errors
        assert BAD in errors[0] and "Traceback" not in r.stdout + r.stderr
        assert [line.split()[-1] for line in r.stdout.splitlines() if line.startswith("s/records ")] == ["FAILED"]
        assert lake.row("s", BAD).attempts == attempt
    lake.put(BAD, good_object("parquet")[1])  # replaced: a new version, pending
    r = s3p_run(lake)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stderr.strip() == ""
    assert {(x.obj.key, x.status) for x in lake.ledger.rows("s")} == {
        ("in/good.parquet", "loaded"), (BAD, "superseded"), (BAD, "loaded")}
    assert s3p_run(lake).returncode == 0  # and it stays so


def test_skip_file_skips_an_unreadable_object_and_succeeds(lake):
    good_key = setup(lake, on_error="skip_file")
    r = s3p_run(lake)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    bad = lake.row("s", BAD)
    assert bad.status == "skipped" and bad.error.startswith(BAD) and bad.retry_at is None
    assert lake.row("s", good_key).rows == GOOD_ROWS
    assert ["Parquet" in b["reason"] for b in lake.bad("s", BAD)] == [True]  # kept for the audit
    # reported in Dagster too: a hand-launched run succeeds, its check and metadata name the skip
    lake.put("in/bad2.parquet", CORRUPT)
    result = lake.run("s")
    assert result.success and lake.row("s", "in/bad2.parquet").status == "skipped"
    passed, md = parse_check(result, "s")
    assert not passed and md["skipped_objects"] == 2  # the partition's
    assert {BAD, "in/bad2.parquet"} <= {r.data["object"] for r in md["samples"].records}
    assert materialization(result, records_key("s"))["objects_skipped"] >= 1


def tick(lake, cursor):
    defs = build_definitions(lake.load())
    with dg.build_sensor_context(instance=lake.instance, cursor=cursor, resources=defs.resources,
                                 definitions=defs) as ctx:
        result = defs.resolve_sensor_def("s_sensor").evaluate_tick(ctx)
    return result.run_requests, result.cursor


def make_due(lake):
    """Move the bad object's retry time to the past, as if its backoff had run out."""
    with lake.ledger.transaction() as db:
        db.execute("UPDATE objects SET retry_at=? WHERE key=? AND status='failed'",
                   (db.now(-dt.timedelta(seconds=1)), BAD))


def test_the_sensor_retries_failed_objects_with_backoff(lake):
    setup(lake, retry={"initial_delay_seconds": 600, "max_delay_seconds": 3600, "max_attempts": 3})
    requests, cursor = tick(lake, None)
    assert [r.partition_key for r in requests] == [today()]
    assert not lake.run("s", discovered=True).success  # as the sensor's run: the object fails
    first = lake.row("s", BAD)
    assert first.attempts == 1 and first.retry_at > lake.ledger.now()

    # inside the backoff: nothing asked for, and a run of the partition (say for a new object) does
    # not read it again: that run succeeds, so good objects are not held back; the check stays red
    assert tick(lake, cursor)[0] == []
    lake.put("in/later.parquet", good_object("parquet")[1])
    assert [r.partition_key for r in tick(lake, cursor)[0]] == [today()]
    result = lake.run("s", discovered=True)
    assert result.success and lake.row("s", BAD).attempts == 1
    assert lake.row("s", "in/later.parquet").status == "loaded"
    check = [e for e in result.get_asset_check_evaluations() if e.check_name == "parse_errors"]
    assert check and not check[0].passed and BAD in check[0].description + str(check[0].metadata)

    # the backoff ran out: a run of that partition is asked for, and it reads the object again
    make_due(lake)
    requests, cursor = tick(lake, cursor)
    assert [(r.partition_key, r.tags.get("s3_pipelines/discovered")) for r in requests] == [(today(), "1")]
    assert ":failed:" in requests[0].run_key
    assert not lake.run("s", discovered=True).success
    second = lake.row("s", BAD)
    assert second.attempts == 2 and second.retry_at > lake.ledger.now()
    wait = dt.datetime.fromisoformat(second.retry_at) - dt.datetime.fromisoformat(second.finished_at)
    assert dt.timedelta(seconds=1100) < wait <= dt.timedelta(seconds=1210)  # doubled
    assert tick(lake, cursor)[0] == []

    make_due(lake)
    again, cursor = tick(lake, cursor)
    assert again[0].run_key != requests[0].run_key  # a new attempt, a new run
    assert not lake.run("s", discovered=True).success
    spent = lake.row("s", BAD)
    assert (spent.attempts, spent.retry_at) == (3, None)  # max_attempts: the sensor stops trying
    assert tick(lake, cursor)[0] == []

    # a new version of the object is a new pending version, and its run succeeds
    lake.put(BAD, good_object("parquet")[1])
    requests, cursor = tick(lake, cursor)
    assert [r.partition_key for r in requests] == [today()]
    assert lake.run("s", discovered=True).success
    assert lake.row("s", BAD, status="loaded").rows == GOOD_ROWS


def test_on_error_fail_stops_at_the_first_failure_and_fails_the_step(lake):
    lake.configure({"s": {"select": {"prefixes": ["in/"]}, "format": "jsonl", "on_error": "fail"}})
    lake.put("in/a.jsonl", b'{"id": 1}\n{oops\n')
    result = lake.run("s")
    assert not result.success
    description, _ = step_failure(result, records_key("s"))
    assert description.startswith(f"stream s, partition {today()}: on_error is fail: in/a.jsonl"), description
    assert "line 2" in description and lake.row("s", "in/a.jsonl").status == "failed"
