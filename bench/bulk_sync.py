"""Bulk sync (issue 11): one stream's day of objects — about 1 GB across 1,000 JSON Lines objects by
default — copied by `s3_pipelines.syncs.bulk.sync_stream_day` to another bucket of the same local
moto server, vs a plain boto3 download-and-upload loop of the same objects (8 threads, as the sync
reads with 8). Variants: `json` (the source format: a server-side copy, no bytes through us), and
the conversions `ndjson.gz`, `parquet`, `csv` (every record read, one object written per day).
Each figure is the median of the repeats; ratios are to the boto3 loop (below 1.0 is faster).

  python -m bench bulk_sync                      # ~1 GB, 1,000 objects, median of 3
  S3P_BENCH_BULK_MB=100 python -m bench bulk_sync  # scaled down (objects: S3P_BENCH_BULK_OBJECTS)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from .common import bench_bucket, median, print_table

SOURCE, DEST = "bench-bulk-src", "bench-bulk-dst"
VARIANTS = ["json", "ndjson.gz", "parquet", "csv"]


def object_bytes(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines, total, i = [], 0, 0
    while total < size:
        line = json.dumps({"id": seed * 10**7 + i, "user": f"user-{rng.randint(0, 10**6)}",
                           "city": rng.choice(["Oslo", "Zürich", "東京", "Lima"]), "amount": round(rng.uniform(0, 1000), 2),
                           "ok": rng.random() < 0.9, "tags": rng.sample("abcdefg", 2),
                           "meta": {"ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}"}}, ensure_ascii=False)
        lines.append(line)
        total += len(line.encode()) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


def _conn(endpoint: str, bucket: str, prefix: str = ""):
    from s3_pipelines.config.models import S3ConnectionConfig

    return S3ConnectionConfig(type="s3", bucket=bucket, prefix=prefix, endpoint_url=endpoint, auth={
        "mode": "access_key_and_secret", "aws_access_key_id": {"value": "bench"},
        "aws_secret_access_key": {"value": "bench"}})


def _empty(s3, bucket: str, prefix: str) -> None:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [{"Key": c["Key"]} for c in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[i:i + 1000]})


def boto3_loop(s3, keys: list[str], prefix: str) -> None:
    def one(key: str) -> None:
        body = s3.get_object(Bucket=SOURCE, Key=key)["Body"].read()
        s3.put_object(Bucket=DEST, Key=prefix + key, Body=body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, keys))


def run(total_mb: int | None = None, objects: int | None = None, repeats: int = 3) -> dict:
    from s3_pipelines.config.models import StreamConfig
    from s3_pipelines.connections.s3 import S3Client
    from s3_pipelines.config.sinks import BulkSyncConfig
    from s3_pipelines.local_s3 import MotoServer
    from s3_pipelines.syncs.bulk import sync_stream_day

    total_mb = total_mb or int(os.environ.get("S3P_BENCH_BULK_MB", "1000"))
    objects = objects or int(os.environ.get("S3P_BENCH_BULK_OBJECTS", "1000"))
    size = max(1, total_mb * 10**6 // objects)
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    stream = StreamConfig.model_validate({"connection": "src", "select": {"prefixes": ["events/"]}, "format": "jsonl"})
    timings: dict[str, list[float]] = {v: [] for v in ["boto3 loop"] + VARIANTS}
    rows = 0
    with MotoServer() as server:
        s3 = bench_bucket(server, SOURCE)
        s3.create_bucket(Bucket=DEST)
        keys = [f"events/part-{i:05d}.jsonl" for i in range(objects)]
        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda ik: s3.put_object(Bucket=SOURCE, Key=ik[1], Body=object_bytes(size, ik[0])),
                          enumerate(keys)))
        mb = objects * size / 1e6
        print(f"source: {objects:,} objects, {mb:,.0f} MB of JSON Lines (uploaded in {time.perf_counter() - t:.1f} s)")
        src = S3Client.from_config(_conn(server.endpoint_url, SOURCE))
        dst = S3Client.from_config(_conn(server.endpoint_url, DEST))
        src.boto.head_bucket(Bucket=SOURCE), dst.boto.head_bucket(Bucket=DEST)  # clients built outside the timings
        for r in range(repeats):
            t = time.perf_counter()
            boto3_loop(s3, keys, f"loop-{r}/")
            timings["boto3 loop"].append(time.perf_counter() - t)
            print(f"  repeat {r + 1}: boto3 loop {timings['boto3 loop'][-1]:6.2f} s")
            _empty(s3, DEST, "")
            for fmt in VARIANTS:
                sync = BulkSyncConfig(kind="bulk", source="src", destination="dst", subfolder=f"{fmt}-{r}", format=fmt)
                t = time.perf_counter()
                report = sync_stream_day(sync, "events", stream, day, src, dst)
                timings[fmt].append(time.perf_counter() - t)
                rows = report.rows or rows
                print(f"  repeat {r + 1}: {fmt:<9} {timings[fmt][-1]:6.2f} s ({report.method}, {report.bytes_written / 1e6:,.0f} MB written)")
                _empty(s3, DEST, "")
    loop = median(timings["boto3 loop"])
    table = []
    for name, ts in timings.items():
        m = median(ts)
        how = "download + upload" if name == "boto3 loop" else ("server-side copy" if name == "json" else f"convert to {name}")
        table.append([name, how, f"{m:.2f}", f"{mb / m:,.0f}", f"{m / loop:.2f}"])
    print_table(f"Bulk sync of {mb:,.0f} MB across {objects:,} objects ({rows:,} records), median of {repeats}",
                ["variant", "what", "seconds", "MB/s of source", "time / boto3 loop"], table)
    return {name: median(ts) for name, ts in timings.items()}
