"""Incremental discovery (sensor ticks) against real local servers."""

from __future__ import annotations

import json
import time

from s3_pipelines.config.models import Listing, Select
from s3_pipelines.connections import S3Client
from s3_pipelines.listing import discover

AIRBYTE = Select(prefixes=["data/ns/users/"])


def airbyte_key(i: int) -> str:
    epoch = 1_700_000_000_000 + i
    return f"data/ns/users/year=2024/month=01/{1 + i // 100_000:02d}_{epoch}_0.jsonl.gz"


def ticks(client, select, listing, cursor=None, until_complete=True, limit=50, **kw):
    """Run ticks until a sweep completes; returns (all objects, cursor, per-tick list requests)."""
    found, costs = [], []
    for _ in range(limit):
        d = discover(client, select, listing, cursor, **kw)
        found += d.objects
        costs.append(d.list_requests)
        cursor = json.loads(json.dumps(d.cursor))  # must survive JSON, as in a sensor cursor
        if d.complete or not until_complete:
            break
    return found, cursor, costs


def test_start_after_picks_up_new_objects(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server, prefix="airbyte/"))
    listing = Listing(mode="start_after", max_pages_per_tick=2)
    for i in range(25):
        client.put_bytes("airbyte/" + airbyte_key(i), b"{}")
    client.put_bytes("airbyte/data/ns/other/x.jsonl", b"{}")  # not selected

    # first ticks list everything, a few pages per tick, resuming where they stopped
    d1 = discover(client, AIRBYTE, listing, None, page_size=10)
    assert len(d1.objects) == 20 and d1.list_requests == 2 and not d1.complete
    found, cursor, _ = ticks(client, AIRBYTE, listing, d1.cursor, page_size=10)
    assert sorted(o.key for o in d1.objects + found) == sorted("airbyte/" + airbyte_key(i) for i in range(25))

    quiet = discover(client, AIRBYTE, listing, cursor, page_size=10)
    assert quiet.objects == [] and quiet.list_requests == 1 and quiet.complete

    client.put_bytes("airbyte/" + airbyte_key(25), b"{}")
    d = discover(client, AIRBYTE, listing, quiet.cursor, page_size=10)
    assert [o.key for o in d.objects] == ["airbyte/" + airbyte_key(25)] and d.list_requests == 1

    # the key the cursor names is deleted: StartAfter takes any string
    client.delete("airbyte/" + airbyte_key(25))
    client.put_bytes("airbyte/" + airbyte_key(26), b"{}")
    d = discover(client, AIRBYTE, listing, d.cursor, page_size=10)
    assert [o.key for o in d.objects] == ["airbyte/" + airbyte_key(26)]
    assert len(json.dumps(d.cursor)) < 1024


def test_start_after_costs_at_most_two_requests_after_thousands(moto_server, new_bucket, put_many):
    client = S3Client.from_config(new_bucket(moto_server))
    listing = Listing(mode="start_after")
    old = [airbyte_key(i) for i in range(2000)]
    put_many(client, old)
    first = discover(client, AIRBYTE, listing, None)
    assert first.complete and len(first.objects) == 2000 and first.list_requests == 2

    new = [airbyte_key(i) for i in range(2000, 2100)]
    put_many(client, new)
    d = discover(client, AIRBYTE, listing, first.cursor)
    assert sorted(o.key for o in d.objects) == new
    assert d.list_requests <= 2
    assert len(json.dumps(d.cursor)) < 1024


def test_watermark_sweeps_a_few_pages_per_tick(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    select = Select(pattern="events/**.json")
    listing = Listing(mode="watermark", max_pages_per_tick=2, overlap_seconds=0)
    for i in range(35):
        client.put_bytes(f"events/{i % 3}/{i:03d}.json", b"{}")
    client.put_bytes("events/readme.txt", b"not selected")

    # first sweep returns everything, over two ticks (4 pages of 10 keys, 2 per tick)
    found, cursor, costs = ticks(client, select, listing, page_size=10)
    assert len(costs) == 2 and max(costs) <= 2
    assert len(found) == 35 and len({o.key for o in found}) == 35
    assert cursor["watermark"] and cursor["sweep"] is None
    assert len(json.dumps(cursor)) < 1024

    time.sleep(1.1)  # moto's LastModified has one-second resolution
    client.put_bytes("events/9/new.json", b"{}")
    found, cursor, costs = ticks(client, select, listing, cursor, page_size=10)
    # objects at the old watermark's second may come back (the ledger dedups); the new one must
    assert "events/9/new.json" in {o.key for o in found} and max(costs) <= 2

    # a sweep after the watermark moved past the old objects returns only newer ones
    time.sleep(1.1)
    client.put_bytes("events/000.json", b'{"changed": true}')  # an overwrite: new ETag
    found, cursor, _ = ticks(client, select, listing, cursor, page_size=10)
    assert {o.key for o in found} <= {"events/9/new.json", "events/000.json"}
    changed = [o for o in found if o.key == "events/000.json"]
    assert changed and changed[0].etag == client.head("events/000.json").etag


def test_watermark_overlap_returns_recent_objects_again(moto_server, new_bucket):
    client = S3Client.from_config(new_bucket(moto_server))
    select = Select(prefixes=["in/"])
    listing = Listing(mode="watermark", overlap_seconds=3600)
    client.put_bytes("in/a.csv", b"1")
    found, cursor, _ = ticks(client, select, listing)
    assert [o.key for o in found] == ["in/a.csv"]
    again, _, _ = ticks(client, select, listing, cursor)
    assert [o.key for o in again] == ["in/a.csv"]  # within the overlap: the caller's ledger dedups


def test_watermark_never_passes_the_sweep_start(moto_server, new_bucket):
    """An object written behind a long sweep's position is newer than the sweep's start."""
    client = S3Client.from_config(new_bucket(moto_server))
    select = Select(prefixes=["s/"])
    listing = Listing(mode="watermark", max_pages_per_tick=1, overlap_seconds=0)
    for name in "abcd":
        client.put_bytes(f"s/{name}.csv", b"1")
    _, cursor, _ = ticks(client, select, listing, page_size=2)
    d1 = discover(client, select, listing, cursor, page_size=2)  # a new sweep starts: sees a, b
    assert not d1.complete
    time.sleep(1.1)  # moto's LastModified has one-second resolution
    client.put_bytes("s/a.csv", b"2")  # written behind the sweep's position
    time.sleep(1.1)
    client.put_bytes("s/d.csv", b"3")  # newer still, and seen by this sweep
    d2 = discover(client, select, listing, d1.cursor, page_size=2)
    assert d2.complete and "s/d.csv" in {o.key for o in d2.objects}
    later, _, _ = ticks(client, select, listing, d2.cursor, page_size=2)
    assert "s/a.csv" in {o.key for o in later}


def test_explicit_objects_are_headed(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server, prefix="p/"))
    client.put_bytes("p/one.csv", b"1")
    d = discover(client, Select(objects=["one.csv", "two.csv"]), Listing(), None)
    assert [o.key for o in d.objects] == ["p/one.csv"] and d.list_requests == 0
    assert d.missing == [f"s3://{client.bucket}/p/two.csv"]


def test_cursor_of_another_mode_starts_over(moto_server, new_bucket):
    client = S3Client.from_config(new_bucket(moto_server))
    client.put_bytes("data/ns/users/x.jsonl", b"{}")
    wm = discover(client, AIRBYTE, Listing(mode="watermark"), None)
    d = discover(client, AIRBYTE, Listing(mode="start_after"), wm.cursor)
    assert [o.key for o in d.objects] == ["data/ns/users/x.jsonl"] and d.cursor["mode"] == "start_after"
