"""End to end (issue 5): one JSONL.gz object of the reference records in a local S3 server (moto,
over HTTP) -> entities in the DuckDB catalog through the engine (GET, gunzip, parse, Parquet
staging, ledger, the reference mapping on the compiled path, blueprint validation, merge upserts,
audit rows), vs the floor — only downloading and parsing the object with pyarrow — measured in the
same run, and dlt's filesystem source loading the same object into DuckDB.

Every variant runs in a fresh process (`bench.e2e_child`) and reports its wall time and peak RSS;
the floor is the baseline of the ratios. dlt needs the `bench` extra (`pip install -e .[bench]`);
without it that row says so."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from s3_pipelines.local_s3 import MotoServer

from .common import bench_bucket, median, print_table
from .data import write_records_gz

BUCKET = "bench-e2e"


def child(what: str, endpoint: str, key: str, workdir: Path, timeout: float = 1800) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.e2e_child", what, endpoint, BUCKET, key, str(workdir)],
                         capture_output=True, text=True, timeout=timeout, cwd=Path(__file__).resolve().parents[1])
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(records: int = 1_000_000, repeats: int = 3, dlt_repeats: int = 3) -> dict:
    key = "data/bench/reference.jsonl.gz"
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
        s3 = bench_bucket(server, BUCKET)
        path = Path(tmp) / "reference.jsonl.gz"
        t = time.perf_counter()
        size = write_records_gz(path, records)
        s3.upload_file(str(path), BUCKET, key)
        path.unlink()
        print(f"{key}: {records:,} records, {size / 1e6:.0f} MB gzip (made and uploaded in {time.perf_counter() - t:.0f}s)")
        variants = [("floor", repeats), ("ours", repeats)]
        has_dlt = importlib.util.find_spec("dlt") is not None
        if has_dlt:
            variants.append(("dlt", dlt_repeats))
        for i in range(max(n for _, n in variants)):  # interleaved, so load on the machine hits all alike
            for what, n in variants:
                if i < n:
                    r = child(what, server.endpoint_url, key, Path(tmp) / f"{what}-{i}")
                    results.setdefault(what, []).append(r)
                    print(f"  {what} run {i + 1}: {r['seconds']:.1f}s, peak RSS {r['peak_rss_mb']:.0f} MB")
    for r in results["ours"]:
        assert r["rows"] == records and r["failed"] == 0, r
    base = median([r["seconds"] for r in results["floor"]])
    names = {"floor": "GET + gunzip + pyarrow parse (floor, baseline)",
             "ours": "s3_pipelines: GET -> staging -> mapping (compiled) -> DuckDB catalog",
             "dlt": "dlt filesystem source + read_jsonl -> DuckDB (parquet loader files)"}
    rows = []
    for what, runs in results.items():
        secs = median([r["seconds"] for r in runs])
        extra = ""
        if what == "ours":
            extra = f"{runs[0]['entities']:,} entities; ingest {median([r['ingest_seconds'] for r in runs]):.1f}s"
        rows.append([names[what], len(runs), f"{secs:.1f}", f"{records / secs:,.0f}", f"{secs / base:.2f}",
                     f"{median([r['peak_rss_mb'] for r in runs]):.0f}", extra])
    if not has_dlt:
        rows.append([names["dlt"], 0, "-", "-", "-", "-", "not installed: pip install -e '.[bench]'"])
    print_table(f"End to end, one {records:,}-record JSONL.gz object in a local S3 server (median; fresh process each)",
                ["what", "runs", "seconds", "records/s", "time vs floor", "peak RSS MB", "notes"], rows)
    ours_s = median([r["seconds"] for r in results["ours"]])
    if "dlt" in results:
        dlt_s = median([r["seconds"] for r in results["dlt"]])
        print(f"\ns3_pipelines is {dlt_s / ours_s:.1f}x faster than dlt on this object.")
    return results


if __name__ == "__main__":
    run()


def run_memory(sizes_mb=(100, 1000), repeats: int = 1) -> dict:
    """Peak RSS of the whole path (GET -> staging -> mapping -> catalog) for objects of two sizes
    (uncompressed); the smaller is the baseline. Streaming in bounded batches means the ratio
    stays near 1 (goal: under 1.3)."""
    per_record = sum(len(t) for t in _sample_lines()) / 10_000
    results = {}
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
        s3 = bench_bucket(server, BUCKET)
        for mb in sizes_mb:
            n = int(mb * 1_000_000 / per_record)
            key = f"data/bench/{mb}mb.jsonl.gz"
            path = Path(tmp) / f"{mb}mb.jsonl.gz"
            t = time.perf_counter()
            size = write_records_gz(path, n)
            s3.upload_file(str(path), BUCKET, key)
            path.unlink()
            print(f"{key}: {n:,} records, {size / 1e6:.0f} MB gzip (made and uploaded in {time.perf_counter() - t:.0f}s)")
            runs = []
            for i in range(repeats):
                r = child("ours", server.endpoint_url, key, Path(tmp) / f"m{mb}-{i}", timeout=3600)
                print(f"  run {i + 1}: {r['seconds']:.0f}s, peak RSS {r['peak_rss_mb']:.0f} MB")
                runs.append(r)
            results[mb] = (n, runs)
    base = median([r["peak_rss_mb"] for r in results[sizes_mb[0]][1]])
    rows = []
    for mb, (n, runs) in results.items():
        peak = median([r["peak_rss_mb"] for r in runs])
        secs = median([r["seconds"] for r in runs])
        rows.append([f"{mb} MB", f"{n:,}", f"{runs[0]['entities']:,}", f"{secs:.0f}", f"{peak:.0f}", f"{peak / base:.2f}"])
    print_table(f"Peak RSS, end to end (GET -> staging -> mapping -> DuckDB catalog), median of {repeats}, fresh process each",
                ["uncompressed", "records", "entities", "seconds", "peak RSS MB", f"RSS vs {sizes_mb[0]} MB"], rows)
    return results


def _sample_lines():
    from .data import record_lines

    return list(record_lines(10_000, seed=7))
