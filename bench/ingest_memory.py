"""Peak memory of ingesting one JSONL.gz object of 1 GB (uncompressed) vs one of 100 MB.

Each ingest runs in a fresh process (the engine's real path: verified GET from a local moto server,
gunzip, parse, cast, Parquet staging, ledger) and reports its own peak RSS; the 100 MB object is
the baseline of the ratio. Goal: ratio under 1.3, peak under 500 MB."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from s3_pipelines.local_s3 import MotoServer

from .common import bench_bucket, median, print_table
from .data import write_jsonl_gz

BUCKET = "bench-memory"


def ingest_in_child(endpoint: str, key: str, workdir: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.ingest_child", endpoint, BUCKET, key, str(workdir)],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes_mb=(100, 1000), repeats: int = 3) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
        s3 = bench_bucket(server, BUCKET)
        for mb in sizes_mb:
            path = Path(tmp) / f"{mb}mb.jsonl.gz"
            t = time.perf_counter()
            records, raw = write_jsonl_gz(path, mb * 1_000_000)
            s3.upload_file(str(path), BUCKET, path.name)
            print(f"{path.name}: {records:,} records, {raw / 1e6:.0f} MB raw, {path.stat().st_size / 1e6:.0f} MB gzip "
                  f"(made and uploaded in {time.perf_counter() - t:.0f}s)")
            path.unlink()
            runs = [ingest_in_child(server.endpoint_url, f"{mb}mb.jsonl.gz", Path(tmp) / f"w{mb}-{i}") for i in range(repeats)]
            assert all(r["rows"] == records for r in runs), runs
            results[mb] = runs
    base = median([r["peak_rss_mb"] for r in results[sizes_mb[0]]])
    rows = []
    for mb, runs in results.items():
        peak, secs = median([r["peak_rss_mb"] for r in runs]), median([r["seconds"] for r in runs])
        rows.append([f"{mb} MB", f"{runs[0]['rows']:,}", f"{secs:.1f}", f"{runs[0]['rows'] / secs:,.0f}",
                     f"{peak:.0f}", f"{peak / base:.2f}"])
    print_table(f"Ingest of one JSONL.gz object, peak RSS (median of {repeats}, fresh process each)",
                ["uncompressed", "records", "seconds", "records/s", "peak RSS MB", f"RSS vs {sizes_mb[0]} MB"], rows)
    return results


if __name__ == "__main__":
    run()
