"""Event-driven streams have no listing sensor: their reconcile sensor retries unreadable objects
with the stream's backoff (issue 14), against the moto server's S3 -> SQS notifications."""

import datetime as dt
import gzip

import dagster as dg

from s3_pipelines.ledger import Ledger

from .helpers import defs_of, tick, write_config

STREAMS = """
streams:
  events:
    connection: lake
    select: {prefixes: ["in/"]}
    format: jsonl
    retry: {initial_delay_seconds: 600}
"""
BAD = "in/bad.jsonl.gz"


def run(defs, instance, request):
    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                                  raise_on_error=False)


def test_reconcile_sensor_retries_failed_objects_once_their_backoff_ran_out(event_bucket, moto_server, tmp_path,
                                                                            monkeypatch):
    bucket = event_bucket()
    cfg, defs = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    bucket.client.put_bytes("in/good.jsonl.gz", gzip.compress(b'{"id": 1}\n'))
    bucket.client.put_bytes(BAD, b"\x1f\x8b\x08\x00 not gzip at all")
    ledger = Ledger.from_config(cfg)
    with dg.DagsterInstance.ephemeral() as instance:
        first, _ = tick(defs, instance, "lake_events", None)
        [request] = first.run_requests
        assert not run(defs, instance, request).success  # the unreadable object fails the partition's run
        [bad] = ledger.rows("events", status="failed")
        assert bad.obj.key == BAD and bad.attempts == 1

        assert tick(defs, instance, "lake_reconcile", None)[0].run_requests == []  # inside the backoff
        with ledger.transaction() as db:
            db.execute("UPDATE objects SET retry_at=? WHERE key=?", (db.now(-dt.timedelta(seconds=1)), BAD))
        [retry] = tick(defs, instance, "lake_reconcile", None)[0].run_requests
        assert (retry.job_name, retry.partition_key, retry.tags["s3_pipelines/discovered"]) == \
            ("events_job", request.partition_key, "1")
        assert ":failed:" in retry.run_key
        assert not run(defs, instance, retry).success
        assert ledger.rows("events", status="failed")[0].attempts == 2  # the retry read it again
