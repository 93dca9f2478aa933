"""Destinations (issue 11): source records (Arrow batches as the engine's reader gives them) ->
one ndjson.gz object and one parquet object in a local moto server through `write_load`
(window, encode, content hash, create-only write), vs a plain boto3 `upload_fileobj` of the same
bytes. Throughput is MB/s of source records (the JSON Lines text); median of the repeats.

  python -m bench destinations
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time

from .common import bench_bucket, median, print_table

BUCKET = "bench-destinations"
T0 = dt.datetime(2024, 3, 5, 14, 7, tzinfo=dt.timezone.utc)


def source_lines(n: int, seed: int = 11) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(json.dumps({
            "id": i, "ts": f"2024-03-05T14:07:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
            "user": f"user-{rng.randint(0, 10**6)}", "city": rng.choice(["Oslo", "Zürich", "東京", "Lima"]),
            "amount": round(rng.uniform(0, 1000), 2), "ok": rng.random() < 0.9, "tags": rng.sample("abcdefg", 2),
            "meta": {"ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}", "agent": "bench/1.0"},
            "empty": {}, "note": None if i % 3 else "x" * rng.randint(0, 40)}, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode()


def _client(endpoint: str):
    from s3_pipelines.config.models import S3ConnectionConfig
    from s3_pipelines.connections import S3Client

    return S3Client.from_config(S3ConnectionConfig(type="s3", bucket=BUCKET, endpoint_url=endpoint, auth={
        "mode": "access_key_and_secret", "aws_access_key_id": {"value": "bench"},
        "aws_secret_access_key": {"value": "bench"}}))


def run(records: int = 1_000_000, repeats: int = 3) -> dict:
    from s3_pipelines.local_s3 import MotoServer
    from s3_pipelines.readers import ReadOptions, read_batches
    from s3_pipelines.sinks.s3 import CreateOnlyWriter, DestinationSpec, Input, encode_window, get_format, write_load
    from s3_pipelines.sinks.s3.formats._rows import BytesSource

    data = source_lines(records)
    mb = len(data) / 1e6
    batches = list(read_batches(BytesSource(data, "src.jsonl"), None, ReadOptions(format="jsonl"), lambda b: None))
    print(f"source: {records:,} records, {mb:.0f} MB of JSON Lines, {len(batches)} batches")
    rows, out = [], {}
    variants = [("ndjson.gz", None), ("ndjson.gz", 1), ("parquet", None)]
    with MotoServer() as server:
        s3 = bench_bucket(server, BUCKET)
        client = _client(server.endpoint_url)
        client.boto.head_bucket(Bucket=BUCKET)  # build the boto3 client outside the timings
        for fmt, level in variants:
            name = fmt if level is None else f"{fmt}, gzip level {level}"
            encoded = encode_window(batches, get_format(fmt), False, level=level)
            body = encoded.body.read()
            ours, enc, put, base = [], [], [], []
            for i in range(repeats):  # interleaved, so load on the machine hits both alike
                spec = DestinationSpec("bench", f"run-{fmt}-{level}-{i}/", fmt, "1h", compression_level=level)
                t = time.perf_counter()
                result = write_load([Input("src", T0, lambda: iter(batches))], spec, CreateOnlyWriter(client))
                ours.append(time.perf_counter() - t)
                assert [o.rows for o in result.objects] == [records] and result.objects[0].created
                t = time.perf_counter()
                encode_window(batches, get_format(fmt), False, level=level).body.close()
                enc.append(time.perf_counter() - t)
                t = time.perf_counter()
                CreateOnlyWriter(client).put(f"put-{fmt}-{level}-{i}/object", encoded)
                put.append(time.perf_counter() - t)
                t = time.perf_counter()
                s3.upload_fileobj(io.BytesIO(body), BUCKET, f"plain-{fmt}-{level}-{i}/object")
                base.append(time.perf_counter() - t)
            o, e, p, b = median(ours), median(enc), median(put), median(base)
            out[name] = {"ours_mb_s": mb / o, "encode_mb_s": mb / e, "upload_fileobj_mb_s": mb / b,
                         "ratio": b / o, "writer_ratio": b / p, "object_mb": len(body) / 1e6}
            rows.append([name, f"{len(body) / 1e6:.1f}", f"{mb / b:.0f}", f"{mb / o:.0f}", f"{b / o:.2f}",
                         f"{mb / e:.0f}", f"{b / p:.2f}"])
    print_table(
        f"Destination writes: {records:,} records ({mb:.0f} MB JSON Lines) -> one object in moto, median of {repeats}",
        ["format", "object MB", "upload_fileobj of the same bytes, source MB/s (baseline)", "write_load, source MB/s",
         "ratio to baseline", "encode only, source MB/s", "create-only put of the same bytes, ratio to baseline"],
        rows)
    return out
