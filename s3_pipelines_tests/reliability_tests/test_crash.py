"""Crash safety. The long run (20 kills, 1,000 objects) is one command:

    .venv/bin/python -m s3_pipelines_tests.reliability_tests.crash_run --kills 20 --objects 1000

CI runs it small, plus two crashes placed exactly: a run that died after staging its objects but
before the catalog and table took them, and objects claimed by a run whose process was killed (its
lease in the ledger ran out) while Dagster still showed it running and it held a pool slot."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import pytest

from s3_pipelines import ingest
from s3_pipelines.config import load_config
from s3_pipelines.connections import S3Client
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.dagster_defs.runner import print_summary, run_pending
from s3_pipelines.ledger import Ledger
from s3_pipelines.staging import StagingStore

from . import crash_run
from .conftest import dagster_home, today


def test_crash_run_small(tmp_path, capsys):
    """A few SIGKILLs of `s3-pipelines run` while objects arrive; then everything exactly once."""
    rc = crash_run.main(["--kills", "3", "--objects", "45", "--seed", "7", "--workdir", str(tmp_path / "crash")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert '"kills": 3' in out and '"problems": []' in out


N = 12


@pytest.fixture
def events(tmp_path, moto_server, new_bucket, monkeypatch):
    """crash_run's pipeline (stream, catalog mapping, table) on a fresh bucket with N objects;
    DAGSTER_HOME in tmp_path. Returns (config path, Ledger)."""
    conn = new_bucket(moto_server)
    config = crash_run.write_config(tmp_path, moto_server.endpoint_url, conn.bucket)
    monkeypatch.setenv(crash_run.KEY_ENV, "AKIACRASHTEST0001")
    monkeypatch.setenv(crash_run.SECRET_ENV, "s")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home(tmp_path)))
    crash_run.put_objects(moto_server.endpoint_url, conn.bucket, range(N))
    cfg = load_config(config)
    return config, Ledger(cfg.ledger_path())


def _stage_only(config, ledger, run_id: str) -> None:
    """What a run does up to its records step: discover, claim, read, stage, mark loaded."""
    cfg = load_config(config)
    client = S3Client.from_config(cfg.s3_connection("lake"))
    stream = cfg.streams[crash_run.STREAM]
    ingest.discover_all(client, crash_run.STREAM, stream, ledger, None)
    ledger.open_partition_run(crash_run.STREAM, today(), run_id)
    ingest.load_partition(client, crash_run.STREAM, stream, today(), StagingStore(cfg.resolve(cfg.state.staging.path)),
                          ledger, run_id)


def test_run_that_died_after_staging_is_finished_by_the_next_run(events):
    config, ledger = events
    _stage_only(config, ledger, "a-run-that-died")
    assert {r.status for r in ledger.rows(crash_run.STREAM)} == {"loaded"}  # nothing pending any more
    assert crash_run.verify(config, N)  # ... but the catalog and the table never got the records

    assert print_summary(run_pending(load_config(config), log=lambda m: None))
    assert crash_run.verify(config, N) == []
    assert ledger.open_partition_runs(crash_run.STREAM) == {}


@pytest.mark.timeout(300)  # before the fix, the next run waited for the dead run's pool slots for ever
def test_claims_and_pool_slots_of_a_killed_process_are_taken_over(events):
    config, ledger = events
    cfg = load_config(config)
    # a run of the `run` command whose process was killed while it held the claims
    with dg.DagsterInstance.get() as instance:
        job = build_definitions(cfg).resolve_job_def(f"{crash_run.STREAM}_job")
        run = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        # killed inside a step: it holds the slot of the catalog's pool (dagster.yaml: default_limit 1)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("duckdb_catalog")
        assert storage.claim_concurrency_slot("duckdb_catalog", run.run_id, "events__entities__events").is_claimed
    client = S3Client.from_config(cfg.s3_connection("lake"))
    ingest.discover_all(client, crash_run.STREAM, cfg.streams[crash_run.STREAM], ledger, None)
    ledger.open_partition_run(crash_run.STREAM, today(), run.run_id)
    assert len(ledger.claim(crash_run.STREAM, today(), run.run_id, lease=dt.timedelta(seconds=1))) == N
    assert {r.status for r in ledger.rows(crash_run.STREAM)} == {"loading"}
    assert not ledger.lease_expired(run.run_id)  # alive while it renews its lease ...
    time.sleep(1.2)
    assert ledger.lease_expired(run.run_id)  # ... gone once it stops (killed: nothing renews it)

    assert print_summary(run_pending(cfg, log=lambda m: None))
    assert crash_run.verify(config, N) == []
    with dg.DagsterInstance.get() as instance:  # the UI no longer shows the dead run as running
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
