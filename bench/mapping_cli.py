"""`s3-pipelines test-mapping` on the 1,000,000-record reference file (JSON Lines, uncompressed)
vs the `jq` command line doing the same mapping over the same file: whole process each (imports,
reading, mapping, validation, output written to a file), wall time and peak RSS, median of
`repeats`, interleaved. Baseline (ratio 1.00): `jq -c` with the reference mapping as one program
(`{body: .} | select(filter) | {blueprint, identifier, title, properties, relations}`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import median, print_table
from .data import record_chunks
from .mapping import REFERENCE

ROOT = Path(__file__).resolve().parents[1]


def jq_program() -> str:
    r = REFERENCE

    def obj(d: dict) -> str:
        return "{" + ", ".join(f"{json.dumps(k)}: ({v})" for k, v in d.items()) + "}"

    return (f"{{body: .}} | select({r.filter}) | {{blueprint: {json.dumps(r.blueprint)}, identifier: ({r.identifier}),"
            f" title: ({r.title}), properties: {obj(r.properties)}, relations: {obj(r.relations)}}}")


def _config(work: Path) -> Path:
    from .e2e_child import config

    cfg = config("http://127.0.0.1:1", "bench", "reference.jsonl", work)
    data = cfg.model_dump(mode="json", by_alias=True, exclude_none=True)
    path = work / "pipelines.json"
    path.write_text(json.dumps(data))
    return path


def _timed(cmd: list[str], out: Path, env=None) -> tuple[float, float, float]:
    """(seconds, peak RSS MB, CPU seconds) of one process writing its stdout to `out`."""
    t = time.perf_counter()
    with open(out, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err[-2000:]}")
    return secs, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def run(records: int = 1_000_000, repeats: int = 3) -> dict:
    jq = shutil.which("jq") or "/usr/bin/jq"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "reference.jsonl"
        with open(path, "w") as f:
            for text in record_chunks(1, records):
                f.write(text)
        cfg = _config(work)
        print(f"{records:,} records, {path.stat().st_size / 1e6:.0f} MB of JSON Lines")
        cli = [sys.executable, "-m", "s3_pipelines.cli", "test-mapping", "--config", str(cfg), "--mapping", "reference",
               "--file", str(path), "--format"]
        variants = [("jq command line (baseline)", [jq, "-c", jq_program(), str(path)]),
                    ("s3-pipelines test-mapping --format jsonl", cli + ["jsonl"]),
                    ("s3-pipelines test-mapping --format json", cli + ["json"])]
        env = {**os.environ, "S3P_NO_PROGRESS": "1"}
        results: dict[str, list] = {}
        outputs = {}
        for i in range(repeats):
            for j, (name, cmd) in enumerate(variants):
                out = work / f"out-{j}"
                secs, rss, cpu = _timed(cmd, out, env)
                results.setdefault(name, []).append((secs, rss, cpu))
                outputs[name] = out
                print(f"  {name} run {i + 1}: {secs:.1f}s ({cpu:.1f}s CPU), peak RSS {rss:.0f} MB", flush=True)
        n_jq = sum(1 for _ in open(outputs[variants[0][0]], "rb"))
        n_ours = sum(1 for _ in open(outputs[variants[1][0]], "rb"))
        assert n_jq == n_ours, (n_jq, n_ours)
        with open(outputs[variants[0][0]], "rb") as a, open(outputs[variants[1][0]], "rb") as b:  # same entities
            for i, x, y in zip(range(1000), a, b):
                assert json.loads(x) == json.loads(y), (i, x[:300], y[:300])
    base = median([s for s, _, _ in results[variants[0][0]]])
    base_cpu = median([c for _, _, c in results[variants[0][0]]])
    rows = []
    for name, _ in variants:
        secs = median([s for s, _, _ in results[name]])
        rss = median([r for _, r, _ in results[name]])
        cpu = median([c for _, _, c in results[name]])
        rows.append([name, f"{secs:.1f}", f"{records / secs:,.0f}", f"{base / secs:.2f}x", f"{cpu:.1f}",
                     f"{base_cpu / cpu:.2f}x", f"{rss:.0f}"])
    print_table(f"test-mapping vs jq on {records:,} records ({n_jq:,} entities), whole process, median of {repeats}",
                ["what", "seconds", "records/s", "speed vs jq", "CPU s", "CPU vs jq", "peak RSS MB"], rows)
    return results
