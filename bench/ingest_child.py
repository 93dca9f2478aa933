"""One ingest in a fresh process; prints rows, seconds and this process's peak RSS as JSON."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .rss import peak_rss_mb

from s3_pipelines import ingest
from s3_pipelines.config.models import S3ConnectionConfig, StreamConfig
from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.ledger import Ledger
from s3_pipelines.staging import StagingStore


def main(endpoint: str, bucket: str, key: str, workdir: str) -> None:
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = "bench", "bench"
    conn = S3ConnectionConfig.model_validate({
        "type": "s3", "bucket": bucket, "endpoint_url": endpoint,
        "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "BENCH_KEY"},
                 "aws_secret_access_key": {"env": "BENCH_SECRET"}}})
    client = S3Client.from_config(conn)
    stream = StreamConfig.model_validate({"connection": "lake", "select": {"objects": [key]}, "format": "jsonl"})
    work = Path(workdir)
    ledger = Ledger(work / "ledger.sqlite")
    obj = client.head(key)
    ledger.register("bench", [obj], lambda o: "p")
    ledger.claim("bench", "p", "bench-run")
    t = time.perf_counter()
    result = ingest.load_object(client, "bench", stream, obj, "p", StagingStore(work / "staging"), ledger, "bench-run")
    seconds = time.perf_counter() - t
    assert result.status == "loaded", result.error
    peak_mb = peak_rss_mb()
    print(json.dumps({"rows": result.rows, "seconds": seconds, "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
