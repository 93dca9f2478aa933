"""The events sensor against the moto server: S3 -> SQS notifications configured through the API,
runs asked for and executed, messages deleted only once the run requests are stored, losses,
duplicates and disorder repaired by one reconciliation, removals, long runs."""

import json
import random
import time

import dagster as dg

from s3_pipelines.events.store import EventStore
from s3_pipelines.ledger import Ledger

from .helpers import body_key, defs_of, execute, tick, write_config

STREAMS = """
streams:
  events:
    connection: lake
    select: {prefixes: ["in/"]}
    format: jsonl
"""


def line(i: int) -> bytes:
    return (json.dumps({"id": i, "name": f"n{i}", "tags": [], "meta": {}}) + "\n").encode()


def loaded(ledger: Ledger, stream: str = "events") -> dict[str, int]:
    out: dict[str, int] = {}
    for r in ledger.rows(stream, status="loaded"):
        out[r.obj.key] = out.get(r.obj.key, 0) + 1
    return out


def test_new_object_drives_a_run_and_messages_go_only_after_the_run_request(event_bucket, moto_server, tmp_path,
                                                                           monkeypatch):
    bucket = event_bucket()
    cfg, defs = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    assert "events_sensor" not in {s.name for s in defs.sensors}  # no listing sensor every 30 s
    bucket.client.put_bytes("in/a b+c.jsonl", line(1))  # a space and a plus: %2B and + in the event
    bucket.client.put_bytes("other/x.jsonl", line(2))  # outside every stream
    ledger = Ledger.from_config(cfg)
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "lake_events", None)
        assert [(r.job_name, r.tags["s3_pipelines/discovered"]) for r in first.run_requests] == [("events_job", "1")]
        # received but not deleted: they wait, hidden, for the run request to be stored with the cursor
        assert bucket.count() == 3  # the test event, two objects
        assert len(EventStore(ledger).receipts(bucket.queue_url, 1)) == 3
        # the object outside every stream is a dead letter, counted in the stream's asset metadata
        [obs] = first.asset_events
        assert obs.metadata["event_dead_letters"].value == 1
        execute(defs, instance, first.run_requests)
        assert loaded(ledger) == {"in/a b+c.jsonl": 1}

        second, cursor = tick(defs, instance, "lake_events", cursor)
        assert not second.run_requests
        assert bucket.count() == 0  # deleted now that tick 1's run requests are durable
        assert EventStore(ledger).receipts(bucket.queue_url, 99) == []


def test_lost_duplicated_shuffled_messages_load_every_object_once_after_one_reconciliation(
        event_bucket, moto_server, tmp_path, monkeypatch):
    bucket = event_bucket()
    cfg, defs = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    keys = [f"in/{i:03d}.jsonl" for i in range(50)]
    for i, k in enumerate(keys):
        bucket.client.put_bytes(k, line(i))
    # take every notification off the queue, then: 20 % lost, 10 % sent twice, the rest shuffled
    bodies = []
    while True:
        batch = bucket.sqs.receive_message(QueueUrl=bucket.queue_url, MaxNumberOfMessages=10,
                                           VisibilityTimeout=300).get("Messages", [])
        if not batch:
            break
        for m in batch:
            bodies.append(m["Body"])
            bucket.sqs.delete_message(QueueUrl=bucket.queue_url, ReceiptHandle=m["ReceiptHandle"])
    objects = [b for b in bodies if body_key(b)]
    assert len(objects) == 50
    rng = random.Random(12)
    rng.shuffle(objects)
    kept = objects[10:]  # the first 10 (20 %) are lost
    twice = kept[:5]
    sent = kept + twice
    rng.shuffle(sent)
    for b in sent:
        bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody=b)

    ledger = Ledger.from_config(cfg)
    with dg.DagsterInstance.ephemeral() as instance:
        cursor, asked = None, []
        for _ in range(3):  # until the queue is empty
            result, cursor = tick(defs, instance, "lake_events", cursor)
            asked += result.run_requests
        execute(defs, instance, asked)
        assert set(loaded(ledger)) == {body_key(b).replace("%2F", "/") for b in kept}
        assert bucket.count() == 0

        recon, _ = tick(defs, instance, "lake_reconcile", None)
        execute(defs, instance, recon.run_requests)
        assert loaded(ledger) == {k: 1 for k in keys}  # every object, each once
        rows = sum(r.rows for r in ledger.rows("events", status="loaded"))
        assert rows == len(keys)
        # a second reconciliation and the duplicates change nothing
        again, _ = tick(defs, instance, "lake_reconcile", None)
        execute(defs, instance, again.run_requests)
        assert loaded(ledger) == {k: 1 for k in keys}
        assert all(r.status == "loaded" for r in ledger.rows("events"))


def test_a_run_longer_than_the_visibility_timeout(event_bucket, moto_server, tmp_path, monkeypatch):
    """The queue hides a message for 1 s; the run takes longer. The sensor received it for
    `event_visibility_seconds` and deletes it at the next tick: it is never received twice, and a
    copy that came back anyway would find its object in the ledger."""
    bucket = event_bucket(visibility=1)
    cfg, defs = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    bucket.client.put_bytes("in/slow.jsonl", line(1))
    ledger = Ledger.from_config(cfg)
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "lake_events", None)
        time.sleep(2.5)  # a long run: past the queue's own visibility timeout
        assert bucket.sqs.receive_message(QueueUrl=bucket.queue_url, MaxNumberOfMessages=10).get("Messages") is None
        execute(defs, instance, first.run_requests)
        second, cursor = tick(defs, instance, "lake_events", cursor)
        assert not second.run_requests and bucket.count() == 0
        assert loaded(ledger) == {"in/slow.jsonl": 1}


def test_unreadable_message_is_reported_and_left_to_the_redrive_policy(event_bucket, moto_server, tmp_path,
                                                                       monkeypatch):
    bucket = event_bucket(notify=False)
    cfg, defs = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody="{not json")
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "lake_events", None)
        [obs] = first.asset_events
        assert obs.metadata["event_unreadable_this_tick"].value == 1
        tick(defs, instance, "lake_events", cursor)
        assert bucket.count() == 1  # not deleted: maxReceiveCount moves it to the dead-letter queue
        n, recent = EventStore(Ledger.from_config(cfg)).dead_letters(bucket.queue_url)
        assert n == 1 and recent[0]["reason"].startswith("unreadable")


def test_run_command_drains_the_queue_then_reconciles(event_bucket, moto_server, tmp_path, monkeypatch):
    from s3_pipelines.dagster_defs.runner import run_pending

    bucket = event_bucket()
    cfg, _ = defs_of(write_config(tmp_path, bucket, STREAMS, monkeypatch=monkeypatch, server=moto_server))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for i in range(5):
        bucket.client.put_bytes(f"in/{i}.jsonl", line(i))
    lost = bucket.sqs.receive_message(QueueUrl=bucket.queue_url, MaxNumberOfMessages=2)["Messages"]
    for m in lost:  # two notifications never reach us
        bucket.sqs.delete_message(QueueUrl=bucket.queue_url, ReceiptHandle=m["ReceiptHandle"])
    [outcome] = run_pending(cfg, log=lambda m: None)
    assert outcome.ok and outcome.objects == 5 and outcome.rows == 5
    assert bucket.count() == 0
    assert loaded(Ledger.from_config(cfg)) == {f"in/{i}.jsonl": 1 for i in range(5)}
