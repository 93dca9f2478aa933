"""A sensor tick over a prefix of 100,000 objects of which 100 are new.

Baseline: a full listing of the prefix (what a sensor without a cursor, or dagster-aws's
`get_objects`, does every tick). Measured: one `start_after` tick (keys sort by time, the Airbyte
layout) and one `watermark` tick (any layout; bounded by max_pages_per_tick)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from s3_pipelines import listing
from s3_pipelines.config.models import Listing, S3ConnectionConfig, Select
from s3_pipelines.connections.s3 import S3Client

from .common import RcloneServer, median, print_table

PREFIX = "data/wSLvwtI1LFwQzXXX/users/"
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def key(i: int) -> str:
    """Airbyte's layout for a sync every 10 minutes: year=/month=/DD_<epoch ms>_0.jsonl.gz."""
    t = T0 + dt.timedelta(minutes=10 * i)
    return f"{PREFIX}year={t:%Y}/month={t:%m}/{t:%d}_{int(t.timestamp() * 1000)}_0.jsonl.gz"


def lay_down(bucket_dir: Path, start: int, n: int) -> None:
    """Old objects as files on disk: 100,000 PUTs would take minutes."""
    for i in range(start, start + n):
        path = bucket_dir / key(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"{}\n")


def run(objects: int = 100_000, new: int = 100, repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp, RcloneServer(Path(tmp)) as server:
        bucket_dir = Path(tmp) / "bench-bucket"
        t0 = time.perf_counter()
        lay_down(bucket_dir, 0, objects)
        print(f"laid down {objects} objects in {time.perf_counter() - t0:.1f}s (rclone serve s3 at {server.endpoint_url})")
        os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = server.KEY, server.SECRET
        conn = S3ConnectionConfig.model_validate({
            "type": "s3", "bucket": "bench-bucket", "endpoint_url": server.endpoint_url,
            "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "BENCH_KEY"},
                     "aws_secret_access_key": {"env": "BENCH_SECRET"}}})
        client = S3Client.from_config(conn)
        select = Select(prefixes=["data/wSLvwtI1LFwQzXXX/users/"])
        sa, wm = Listing(mode="start_after"), Listing(mode="watermark", max_pages_per_tick=20)

        # cursors as they stand after the old objects were seen
        sa_cursor = _catch_up(client, select, sa)
        wm_cursor = _catch_up(client, select, wm)
        # the new objects arrive through the S3 API, as they would (rclone caches directory listings)
        for i in range(objects, objects + new):
            client.put_bytes(key(i), b"{}\n")

        results = {"full": [], "start_after": [], "watermark": []}
        for _ in range(repeats):
            before, t = client.list_requests, time.perf_counter()
            n = sum(1 for _ in _full(client, select))
            results["full"].append((client.list_requests - before, time.perf_counter() - t, n))
            t = time.perf_counter()
            d = listing.discover(client, select, sa, sa_cursor)
            results["start_after"].append((d.list_requests, time.perf_counter() - t, len(d.objects)))
            t = time.perf_counter()
            d = listing.discover(client, select, wm, wm_cursor)
            results["watermark"].append((d.list_requests, time.perf_counter() - t, len(d.objects)))
    base_t = median([r[1] for r in results["full"]])
    rows = []
    for name, runs in results.items():
        t = median([r[1] for r in runs])
        rows.append([name, runs[0][0], f"{t:.3f}", runs[0][2], f"{t / base_t:.3f}"])
    print_table(f"Sensor tick over {objects:,} objects with {new} new (median of {repeats}, rclone serve s3)",
                ["listing", "list requests", "seconds", "objects returned", "time vs full listing"], rows)
    print("\nstart_after returns exactly the new objects; watermark returns the objects of the pages it swept "
          "that are newer than its watermark minus the overlap (the ledger drops those it has seen).")
    return results


def _catch_up(client, select, mode):
    cursor = None
    while True:
        d = listing.discover(client, select, mode, cursor)
        cursor = d.cursor
        if d.complete:
            return cursor


def _full(client, select):
    from s3_pipelines.selection import iter_selected

    return iter_selected(client, select)


if __name__ == "__main__":
    run()
