"""Claims live under their run's lease in the ledger: a run that keeps renewing keeps its objects,
one that stops (killed, crashed, its host lost) loses them when the lease runs out — on any host,
with no look at processes. And `s3-pipelines run` waits at most one lease to tell the two apart."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg

from s3_pipelines.dagster_defs.run_health import end_abandoned_runs, run_is_over, settle
from s3_pipelines.ledger import Ledger
from s3_pipelines.objects import S3Object
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
DAY = "2026-11-20"


def _ledger(state_db, n=3) -> Ledger:
    led = state_db.ledger()
    led.register("s", [S3Object("b", f"k{i}", "e", 1, T0) for i in range(n)], lambda o: DAY)
    return led


def test_a_renewed_lease_keeps_the_claims_and_a_lapsed_one_loses_them(state_db):
    led = _ledger(state_db)
    short = dt.timedelta(seconds=0.6)
    with led.hold_lease("alive", short):
        assert len(led.claim("s", DAY, "alive", lease=short)) == 3
        time.sleep(1.0)  # longer than the lease: only the renewals keep it
        assert not led.lease_expired("alive")
        assert led.claim("s", DAY, "other") == []
    time.sleep(0.8)  # the holder stopped renewing (as a killed process does)
    assert led.lease_expired("alive")
    assert len(led.claim("s", DAY, "other")) == 3


def test_an_ended_lease_frees_the_claims_at_once(state_db):
    led = _ledger(state_db)
    led.claim("s", DAY, "first")
    assert led.claim("s", DAY, "second") == []
    led.end_lease("first")
    assert len(led.claim("s", DAY, "second")) == 3


def test_dagster_status_and_the_lease_decide_whether_a_run_is_over(state_db):
    led = _ledger(state_db)
    with dg.DagsterInstance.ephemeral() as instance:
        job = dg.GraphDefinition(name="j", node_defs=[]).to_job()
        running = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        finished = instance.create_run_for_job(job, status=dg.DagsterRunStatus.SUCCESS)
        assert run_is_over(instance, led, finished.run_id) and run_is_over(instance, led, "unknown-run")
        assert not run_is_over(instance, led, running.run_id)  # no lease yet: it has not claimed anything
        led.claim("s", DAY, running.run_id, lease=dt.timedelta(seconds=0.3))
        assert not run_is_over(instance, led, running.run_id)

        waited = []
        assert settle(instance, led, [running.run_id], log=lambda m: None, sleep=lambda s: (waited.append(s), time.sleep(s))) \
            == [running.run_id]  # waited for the lease, which nobody renewed: the run was abandoned
        assert waited and waited[0] <= 0.6
        assert instance.get_run_by_id(running.run_id).status == dg.DagsterRunStatus.FAILURE
        assert run_is_over(instance, led, running.run_id)
        assert end_abandoned_runs(instance, led) == []  # once
