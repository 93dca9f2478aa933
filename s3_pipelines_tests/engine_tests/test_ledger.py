import datetime as dt
import multiprocessing as mp

from s3_pipelines.ledger import Ledger
from s3_pipelines.objects import S3Object
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)


def obj(key, etag="e1", size=10, t=T0):
    return S3Object("b", key, etag, size, t)


def day(o):
    return o.last_modified.strftime("%Y-%m-%d")


def test_register_is_idempotent_and_new_etag_is_new(state_db):
    led = state_db.ledger()
    assert [o.key for o in led.register("s", [obj("a"), obj("b")], day)] == ["a", "b"]
    assert led.register("s", [obj("a"), obj("b")], day) == []
    assert [o.etag for o in led.register("s", [obj("a", "e2")], day)] == ["e2"]
    # streams are independent
    assert len(led.register("other", [obj("a")], day)) == 1


def test_claim_finish_and_supersede(state_db):
    led = state_db.ledger()
    led.register("s", [obj("a"), obj("b")], day)
    claimed = led.claim("s", "2026-11-20", "run1")
    assert sorted(o.key for o in claimed) == ["a", "b"]
    assert led.claim("s", "2026-11-20", "run2") == []  # held by run1, which is not stale
    assert led.finish("s", obj("a"), status="loaded", rows=5, staged=["/x/a1.parquet"], run_id="run1") == []
    led.finish("s", obj("b"), status="failed", error="corrupt", run_id="run1")
    # a new version of a: loading it supersedes the old one and hands back its files
    led.register("s", [obj("a", "e2")], day)
    assert [o.etag for o in led.claim("s", "2026-11-20", "run3")] == ["e2"]  # failed b not retried...
    replaced = led.finish("s", obj("a", "e2"), status="loaded", rows=6, staged=["/x/a2.parquet"], run_id="run3")
    assert replaced == ["/x/a1.parquet"]
    status = {(r.obj.key, r.obj.etag): r.status for r in led.rows("s")}
    assert status == {("a", "e1"): "superseded", ("a", "e2"): "loaded", ("b", "e1"): "failed"}
    # ...unless asked (a hand-launched re-run of the partition)
    assert [o.key for o in led.claim("s", "2026-11-20", "run4", retry_failed=True)] == ["b"]


def test_stale_claims_are_taken_over_and_release_returns_to_pending(state_db):
    led = state_db.ledger()
    led.register("s", [obj("a"), obj("b")], day)
    assert len(led.claim("s", "2026-11-20", "crashed")) == 2
    assert led.claim("s", "2026-11-20", "next", is_stale=lambda rid: False) == []
    taken = led.claim("s", "2026-11-20", "next", is_stale=lambda rid: rid == "crashed")
    assert len(taken) == 2
    led.release("s", taken[:1], "next")
    assert led.pending_partitions("s") == ["2026-11-20"]
    assert {r.status for r in led.rows("s")} == {"pending", "loading"}


def test_bad_records_are_capped_and_counted(state_db):
    led = state_db.ledger()
    led.register("s", [obj("a")], day)
    led.add_bad_records("s", obj("a"), [(i, f"bad {i}") for i in range(1, 500)], "r")
    led.finish("s", obj("a"), status="loaded", rows=1, bad_rows=499)
    bad = led.bad_records("s", "2026-11-20", limit=1000)
    assert len(bad) == 100 and bad[0] == {"key": "a", "etag": "e1", "line": 1, "reason": "bad 1"}
    assert led.rows("s")[0].bad_rows == 499


def _claimer(target, schema, run_id, q):
    led = Ledger(target, schema=schema)
    got = []
    for _ in range(20):
        got += [o.key for o in led.claim("s", "2026-11-20", run_id)]
    q.put(got)


def test_concurrent_claims_from_processes_never_overlap(state_db):
    led = state_db.ledger()
    led.register("s", [obj(f"k{i:04d}") for i in range(2000)], day)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(state_db.target, state_db.schema, f"run{i}", q)) for i in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    everything = [k for r in results for k in r]
    assert len(everything) == 2000 and len(set(everything)) == 2000


def test_cursor_roundtrip(state_db):
    led = state_db.ledger()
    assert led.get_cursor("run:s") is None
    led.set_cursor("run:s", '{"a":1}')
    led.set_cursor("run:s", '{"a":2}')
    assert led.get_cursor("run:s") == '{"a":2}'


def test_stale_pending_partitions(state_db):
    led = state_db.ledger()
    led.register("s", [obj("a")], day)
    assert led.stale_pending_partitions("s", dt.timedelta(minutes=10)) == []
    assert led.stale_pending_partitions("s", dt.timedelta(seconds=-1)) == ["2026-11-20"]
    led.claim("s", "2026-11-20", "r")
    assert led.stale_pending_partitions("s", dt.timedelta(seconds=-1)) == []


def test_a_new_attempt_of_the_same_run_takes_back_what_the_dead_attempt_held(state_db):
    """A Celery worker killed mid-step: the step is delivered again, under the same run, whose
    lease the new attempt keeps alive. Only a claim that says so takes its own objects back."""
    led = state_db.ledger()
    led.register("s", [obj("a"), obj("b")], day)
    assert len(led.claim("s", "2026-11-20", "run1")) == 2  # the attempt that dies
    assert led.claim("s", "2026-11-20", "run1") == []  # a plain claim leaves them
    assert led.claim("s", "2026-11-20", "run2") == []  # another live run too
    assert sorted(o.key for o in led.claim("s", "2026-11-20", "run1", retake_own=True)) == ["a", "b"]
    assert {r.run_id for r in led.rows("s")} == {"run1"}
