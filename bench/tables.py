"""Tables (issue 4): one 1,000,000-row nd-json.gz object of Polaris-style sessions in a local S3
server (moto, over HTTP) -> a rollup table in DuckDB through the engine (GET, gunzip, parse, Parquet
staging, ledger, SQL mappings with TIME_PARSE / TIME_FLOOR and MAX / SUM / COUNT evaluated by
DuckDB over Arrow, merge into the table), vs the floor (GET + gunzip + pyarrow parse, nothing
written) measured in the same run. Each variant runs in a fresh process.

  python -m bench tables            # the parent; `python -m bench.tables child ...` is one variant
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import bench_bucket, median, print_table
from .rss import peak_rss_mb

BUCKET, KEY = "bench-tables", "polaris-ingest/sessions.json.gz"
CITIES = [f"city-{i:02d}" for i in range(50)]
MAPPINGS = [
    {"column": "__time", "expression": "TIME_FLOOR(TIME_PARSE(\"timestamp\"), 'PT1H')"},
    {"column": "city", "expression": '"city"'},
    {"column": "max_session_length", "expression": 'MAX("session_length")'},
    {"column": "total_session_length", "expression": 'SUM("session_length")'},
    {"column": "sessions", "expression": "COUNT(*)"},
]
INPUT = [{"name": "timestamp", "type": "string"}, {"name": "city", "type": "string"},
         {"name": "session", "type": "string"}, {"name": "session_length", "type": "long"}]


def write_sessions(path: Path, n: int, seed: int = 3) -> int:
    rng = random.Random(seed)
    with gzip.open(path, "wb", compresslevel=6) as f:
        chunk = []
        for i in range(n):
            chunk.append(json.dumps({
                "timestamp": f"2024-06-{1 + i * 7 // n:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                             f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
                "city": rng.choice(CITIES), "session": f"S{rng.randint(0, 10**6)}",
                "session_length": rng.randint(1, 5000)}))
            if len(chunk) == 10_000:
                f.write(("\n".join(chunk) + "\n").encode())
                chunk = []
        if chunk:
            f.write(("\n".join(chunk) + "\n").encode())
    return path.stat().st_size


def _ours(endpoint: str, work: Path) -> dict:
    from s3_pipelines import ingest
    from s3_pipelines.config.models import PipelinesConfig
    from s3_pipelines.connections.s3 import S3Client
    from s3_pipelines.ledger import Ledger
    from s3_pipelines.staging import StagingStore
    from s3_pipelines.tables import load_partition, plan_for
    from s3_pipelines.targets import open_target

    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = "bench", "bench"
    cfg = PipelinesConfig.model_validate({
        "connections": {
            "lake": {"type": "s3", "bucket": BUCKET, "endpoint_url": endpoint,
                     "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "BENCH_KEY"},
                              "aws_secret_access_key": {"env": "BENCH_SECRET"}}},
            "catalog": {"type": "duckdb", "path": str(work / "catalog.duckdb")}},
        "streams": {},
        "tables": {"sessions": {"connection": "lake", "uris": [f"s3://{BUCKET}/{KEY}"],
                                "format_settings": {"format": "nd-json"}, "input_schema": INPUT,
                                "mappings": MAPPINGS, "create_table_if_not_exists": True}},
    })
    stream_name = "sessions__source"
    stream = cfg.streams[stream_name]
    client = S3Client.from_config(cfg.s3_connection("lake"))
    ledger, staging = Ledger(work / "ledger.sqlite"), StagingStore(work / "staging")
    obj = client.head(KEY)
    ledger.register(stream_name, [obj], lambda o: "p")
    ledger.claim(stream_name, "p", "bench-run")
    t = time.perf_counter()
    loaded = ingest.load_object(client, stream_name, stream, obj, "p", staging, ledger, "bench-run")
    assert loaded.status == "loaded", loaded.error
    t_ingest = time.perf_counter() - t
    report = load_partition("sessions", cfg.tables["sessions"], plan_for(cfg, "sessions"), open_target(cfg, "catalog"),
                            ledger, staging, stream_name, "p", "bench-run")
    assert report.status == "completed", report
    return {"rows": report.rows_processed, "groups": report.rows_persisted, "ingest_seconds": t_ingest,
            "skipped": report.rows_skipped_by_error}


def child(what: str, endpoint: str, workdir: str) -> None:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if what == "floor":
        from .e2e_child import floor

        out = {"rows": floor(endpoint, BUCKET, KEY, work)}
    else:
        out = _ours(endpoint, work)
    out["seconds"] = time.perf_counter() - t
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def _run_child(what: str, endpoint: str, workdir: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.tables", "child", what, endpoint, str(workdir)],
                         capture_output=True, text=True, timeout=1800, cwd=Path(__file__).resolve().parents[1])
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(records: int = 1_000_000, repeats: int = 3) -> dict:
    from s3_pipelines.local_s3 import MotoServer

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
        s3 = bench_bucket(server, BUCKET)
        path = Path(tmp) / "sessions.json.gz"
        size = write_sessions(path, records)
        s3.upload_file(str(path), BUCKET, KEY)
        path.unlink()
        print(f"{KEY}: {records:,} rows, {size / 1e6:.0f} MB gzip")
        for i in range(repeats):  # interleaved, so load on the machine hits both alike
            for what in ("floor", "ours"):
                r = _run_child(what, server.endpoint_url, Path(tmp) / f"{what}-{i}")
                results.setdefault(what, []).append(r)
                print(f"  {what} run {i + 1}: {r['seconds']:.1f}s, peak RSS {r['peak_rss_mb']:.0f} MB")
    for r in results["ours"]:
        assert r["rows"] == records and r["skipped"] == 0, r
    base = median([r["seconds"] for r in results["floor"]])
    rows = []
    for what, name in [("floor", "GET + gunzip + pyarrow parse (floor, baseline)"),
                       ("ours", "s3_pipelines: GET -> staging -> SQL mappings + rollup -> DuckDB table")]:
        runs = results[what]
        secs = median([r["seconds"] for r in runs])
        notes = (f"{runs[0]['groups']:,} groups; ingest {median([r['ingest_seconds'] for r in runs]):.1f}s"
                 if what == "ours" else "")
        rows.append([name, len(runs), f"{secs:.1f}", f"{records / secs:,.0f}", f"{secs / base:.2f}",
                     f"{median([r['peak_rss_mb'] for r in runs]):.0f}", notes])
    print_table(f"Table load with rollup, one {records:,}-row nd-json.gz object (median; fresh process each)",
                ["what", "runs", "seconds", "rows/s", "time vs floor", "peak RSS MB", "notes"], rows)
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:5])
    else:
        run()
