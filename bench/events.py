"""Event-driven discovery against listing, on the moto server (S3 -> SQS notifications).

- Latency from PUT to run request, median over `objects` objects PUT one every 50 ms into a prefix
  already holding `existing` objects: through SQS (the events sensor's tick: receive, parse, route,
  register, run keys) and through listing (the listing sensor's `watermark` tick), each with ticks
  back to back, so the figure is the processing latency; a deployed sensor adds on average half its
  interval (events: 10 s default -> +5 s; listing: 30 s default -> +15 s).
- List requests per tick with notifications on (the events tick: goal 0), and per reconciliation.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3

from s3_pipelines import ingest
from s3_pipelines.config.models import PipelinesConfig
from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.events.queue import EventQueue
from s3_pipelines.events.route import Router
from s3_pipelines.ledger import Ledger
from s3_pipelines.local_s3 import MotoServer

from .common import median, print_table


def _setup(server: MotoServer, root: Path, existing: int):
    name = f"bench-{uuid.uuid4().hex[:12]}"
    kw = dict(endpoint_url=server.endpoint_url, region_name="us-east-1", aws_access_key_id="bench",
              aws_secret_access_key="bench")
    sqs, s3 = boto3.client("sqs", **kw), boto3.client("s3", **kw)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    s3.create_bucket(Bucket=name)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:  # before notifications: these are old objects
        list(pool.map(lambda i: s3.put_object(Bucket=name, Key=f"in/old/{i:06d}.jsonl", Body=b"{}\n"), range(existing)))
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    cfg = PipelinesConfig.model_validate({
        "connections": {"lake": {"type": "s3", "bucket": name, "endpoint_url": server.endpoint_url,
                                 "region": "us-east-1", "event_queue_url": url,
                                 "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"value": "bench"},
                                          "aws_secret_access_key": {"value": "bench"}}}},
        "streams": {"events": {"connection": "lake", "select": {"prefixes": ["in/"]}, "format": "jsonl"}},
        "state": {"ledger_path": str(root / f"{name}.sqlite")},
    })
    return cfg, s3, name


def _putter(s3, bucket: str, n: int, put_at: dict, tag: str) -> threading.Thread:
    def go():
        for i in range(n):
            key = f"in/new/{tag}-{i:04d}.jsonl"
            s3.put_object(Bucket=bucket, Key=key, Body=b"{}\n")
            put_at[key] = time.monotonic()
            time.sleep(0.05)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def _via_sqs(cfg, s3, bucket: str, n: int) -> tuple[list[float], list[int]]:
    client = S3Client.from_config(cfg.s3_connection("lake"))
    ledger = Ledger(cfg.ledger_path())
    router, queue = Router(cfg, "lake", client, ledger), EventQueue(cfg.s3_connection("lake"), client)
    put_at: dict[str, float] = {}
    thread = _putter(s3, bucket, n, put_at, "sqs")
    seen, lat, lists = set(), [], []
    deadline = time.monotonic() + 120
    while len(seen) < n and time.monotonic() < deadline:
        before = client.list_requests
        routed = router.messages(queue.receive_all(20, wait_seconds=1, visibility_seconds=300))
        queue.delete(routed.deletable)
        lists.append(client.list_requests - before)
        now = time.monotonic()
        for r in ledger.rows("events", status="pending"):
            if r.obj.key not in seen and r.obj.key in put_at:
                seen.add(r.obj.key)
                lat.append(now - put_at[r.obj.key])
    thread.join()
    return lat, lists


def _via_listing(cfg, s3, bucket: str, n: int) -> tuple[list[float], list[int]]:
    client = S3Client.from_config(cfg.s3_connection("lake"))
    ledger = Ledger(cfg.ledger_path())
    stream = cfg.streams["events"]
    cursor = ingest.discover_all(client, "events", stream, ledger, None).cursor  # the sensor is caught up
    put_at: dict[str, float] = {}
    thread = _putter(s3, bucket, n, put_at, "list")
    seen, lat, lists = set(), [], []
    deadline = time.monotonic() + 300
    while len(seen) < n and time.monotonic() < deadline:
        found = ingest.discover(client, "events", stream, ledger, cursor)
        cursor = found.cursor
        lists.append(found.list_requests)
        now = time.monotonic()
        for o in found.new:
            if o.key in put_at and o.key not in seen:
                seen.add(o.key)
                lat.append(now - put_at[o.key])
    thread.join()
    return lat, lists


def run(objects: int = 100, existing: int = 10_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
        cfg, s3, bucket = _setup(server, Path(tmp), existing)
        sqs_lat, sqs_lists = _via_sqs(cfg, s3, bucket, objects)
        list_lat, list_lists = _via_listing(cfg, s3, bucket, objects)
        client = S3Client.from_config(cfg.s3_connection("lake"))
        t0 = time.monotonic()
        recon = Router(cfg, "lake", client, Ledger(cfg.ledger_path())).reconcile()
        recon_s = time.monotonic() - t0
    rows = [
        ["through SQS (events tick)", len(sqs_lat), f"{median(sqs_lat):.2f}", f"{max(sqs_lat):.2f}",
         f"{median(sqs_lists):.0f} / {max(sqs_lists)}"],
        ["through listing (watermark tick)", len(list_lat), f"{median(list_lat):.2f}", f"{max(list_lat):.2f}",
         f"{median(list_lists):.0f} / {max(list_lists)}"],
    ]
    print_table(f"PUT -> run request, {objects} objects into a prefix of {existing:,} (ticks back to back)",
                ["path", "objects", "median s", "max s", "list requests per tick (median / max)"], rows)
    print(f"\nreconciliation (full listing of {existing + 2 * objects:,} keys): {recon.list_requests} list "
          f"requests, {recon_s:.2f} s, {recon.registered} missed object(s) registered")
    return {"sqs_median_s": median(sqs_lat), "listing_median_s": median(list_lat),
            "sqs_list_requests_per_tick": max(sqs_lists), "reconcile_list_requests": recon.list_requests}
