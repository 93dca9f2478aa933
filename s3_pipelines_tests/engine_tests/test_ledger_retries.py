"""Failed objects in the ledger (issue 14): attempts, the backoff's due time, which claims take them,
and a newer version replacing one that could not be read; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from s3_pipelines.config.models import Retries, StreamConfig
from s3_pipelines.ingest import backoff
from s3_pipelines.objects import S3Object
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
DAY = "2026-11-20"


def obj(key, etag="e1", t=T0):
    return S3Object("b", key, etag, 10, t)


def day(o):
    return o.last_modified.strftime("%Y-%m-%d")


def make_due(led, key):
    """The backoff ran out (instead of waiting for it)."""
    with led.transaction() as db:
        db.execute("UPDATE objects SET retry_at=? WHERE key=?", (db.now(-dt.timedelta(seconds=1)), key))


def test_backoff_doubles_up_to_the_maximum_then_stops():
    stream = StreamConfig(connection="c", select={"prefixes": ["x/"]},
                          retry=Retries(initial_delay_seconds=10, max_delay_seconds=35, max_attempts=5))
    after = backoff(stream)
    assert [after(n) for n in range(1, 6)] == [dt.timedelta(seconds=s) for s in (10, 20, 35, 35)] + [None]
    defaults = StreamConfig(connection="c", select={"prefixes": ["x/"]}).retry
    assert (defaults.initial_delay_seconds, defaults.max_delay_seconds, defaults.max_attempts) == (60, 3600, 5)


def test_failed_objects_are_claimed_when_due_or_when_asked(state_db):
    led = state_db.ledger()
    led.register("s", [obj("bad"), obj("good")], day)
    assert len(led.claim("s", DAY, "run1")) == 2
    hour = dt.timedelta(hours=1)
    led.finish("s", obj("bad"), status="failed", error="bad: corrupt", run_id="run1", retry_after=lambda n: hour * n)
    led.finish("s", obj("good"), status="loaded", rows=1, run_id="run1", retry_after=lambda n: hour)
    bad = led.rows("s", status="failed")[0]
    assert bad.attempts == 1 and bad.retry_at > led.now()
    assert led.rows("s", status="loaded")[0].retry_at is None  # only a failure is retried

    # inside the backoff: a claim (a sensor's run) does not take it, nor is it due
    assert led.claim("s", DAY, "run2") == [] and led.due_retries("s") == {}
    # once due, the sensor sees it and any run of the partition claims it
    make_due(led, "bad")
    assert led.due_retries("s") == {DAY: [("bad", "e1", 1)]}
    assert [o.key for o in led.claim("s", DAY, "run2")] == ["bad"]
    led.finish("s", obj("bad"), status="failed", error="bad: corrupt", run_id="run2", retry_after=lambda n: hour * n)
    again = led.rows("s", status="failed")[0]
    assert again.attempts == 2 and again.retry_at > led.now()
    assert led.due_retries("s") == {}
    # asked for (a hand-launched run, `s3-pipelines run`): taken at once, backoff or not
    assert [o.key for o in led.claim("s", DAY, "run3", retry_failed=True)] == ["bad"]
    # attempts spent (no delay): failed for good, never due again by itself
    led.finish("s", obj("bad"), status="failed", error="bad: corrupt", run_id="run3", retry_after=lambda n: None)
    spent = led.rows("s", status="failed")[0]
    assert (spent.attempts, spent.retry_at) == (3, None)
    assert led.claim("s", DAY, "run4") == [] and led.due_retries("s") == {}
    assert led.pending_partitions("s", "failed") == [DAY]


def test_a_new_version_supersedes_a_failed_one(state_db):
    led = state_db.ledger()
    led.register("s", [obj("k")], day)
    led.claim("s", DAY, "run1")
    led.finish("s", obj("k"), status="failed", error="k: corrupt", run_id="run1", retry_after=lambda n: dt.timedelta(0))
    # the key is overwritten (a later day's partition): the old version is no longer retried
    later = T0 + dt.timedelta(days=1)
    assert [o.etag for o in led.register("s", [obj("k", "e2", later)], day)] == ["e2"]
    assert {(r.obj.etag, r.status) for r in led.rows("s")} == {("e1", "superseded"), ("e2", "pending")}
    assert led.due_retries("s") == {} and led.pending_partitions("s", "failed") == []
    # an older version seen late (an event delivered out of order) does not supersede a newer failure
    led.claim("s", "2026-11-21", "run2")
    led.finish("s", obj("k", "e2", later), status="failed", error="k: corrupt", run_id="run2")
    led.register("s", [obj("k", "e0", T0 - dt.timedelta(days=1))], day)
    assert led.rows("s", status="failed")[0].obj.etag == "e2"
