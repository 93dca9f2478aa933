"""Crash safety: ingest small objects into a catalog (jq entity mapping) and a table, SIGKILL the
`s3-pipelines run` process at random moments, run again after each kill, then compare everything
with what the objects hold: no record lost, none duplicated, the ledger consistent.

    .venv/bin/python -m s3_pipelines_tests.reliability_tests.crash_run --kills 20 --objects 1000

Objects arrive in slices, one before each run, so runs are killed while listing, reading, staging,
writing the ledger, applying the mapping and loading the table. The local S3 server (moto) and every
run's DAGSTER_HOME, ledger, staging folder and DuckDB catalog live in a temporary folder (kept with
--keep). Prints a JSON summary; exit status 0 when every check holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

RECORDS_PER_OBJECT = 3
KEY_ENV, SECRET_ENV = "S3P_CRASH_KEY", "S3P_CRASH_SECRET"
STREAM, MAPPING, TABLE, BLUEPRINT = "events", "events", "event_rows", "event"


def object_key(i: int) -> str:
    return f"events/obj-{i:05d}.jsonl"


def object_body(i: int) -> bytes:
    return b"".join(
        json.dumps({"id": f"e{i:05d}-{j}", "n": i * RECORDS_PER_OBJECT + j, "obj": i}).encode() + b"\n"
        for j in range(RECORDS_PER_OBJECT)
    )


def put_objects(endpoint: str, bucket: str, indices) -> None:
    """Upload the objects numbered `indices` (8 at a time)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIACRASHTEST0001",
                      aws_secret_access_key="crash-secret")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=object_key(i), Body=object_body(i)), indices))


def write_config(root: Path, endpoint: str, bucket: str) -> Path:
    doc = {
        "connections": {
            "lake": {"type": "s3", "bucket": bucket, "endpoint_url": endpoint, "region": "us-east-1",
                     "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": KEY_ENV},
                              "aws_secret_access_key": {"env": SECRET_ENV}}},
            "catalog": {"type": "duckdb", "path": "state/catalog.duckdb"},
        },
        "streams": {STREAM: {"connection": "lake", "select": {"prefixes": ["events/"]}, "format": "jsonl",
                             "listing": {"mode": "start_after"}, "sensor": False}},
        "blueprints": {BLUEPRINT: {"title": "Event", "properties": {"n": {"type": "number"},
                                                                      "obj": {"type": "number"}}}},
        "mappings": [{"name": MAPPING, "stream": STREAM, "blueprint": BLUEPRINT, "target": "catalog",
                      "entity": {"identifier": ".body.id", "properties": {"n": ".body.n", "obj": ".body.obj"}}}],
        "tables": {TABLE: {"stream": STREAM, "target": "catalog", "ingestion_mode": "append",
                           "create_table_if_not_exists": True,
                           "input_schema": [{"name": "id", "type": "string"}, {"name": "n", "type": "long"},
                                            {"name": "obj", "type": "long"}],
                           "mappings": [{"column": "id", "expression": '"id"'},
                                        {"column": "n", "expression": '"n"'},
                                        {"column": "obj", "expression": '"obj"'}]}},
    }
    path = root / "pipelines.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def verify(config: Path, n_objects: int) -> list[str]:
    """Every way the targets can disagree with the objects; empty when all is well."""
    import duckdb

    from s3_pipelines.catalog import audit_rows, export_entities
    from s3_pipelines.config import load_config
    from s3_pipelines.ledger import Ledger
    from s3_pipelines.targets import open_target

    cfg = load_config(config)
    problems: list[str] = []
    expected_ids = {f"e{i:05d}-{j}" for i in range(n_objects) for j in range(RECORDS_PER_OBJECT)}

    # ledger: one row per object, loaded, with its rows
    rows = Ledger(cfg.ledger_path()).rows(STREAM)
    by_key = Counter(r.obj.key for r in rows)
    if set(by_key) != {object_key(i) for i in range(n_objects)}:
        problems.append(f"ledger holds {len(by_key)} keys, expected {n_objects}")
    problems += [f"ledger: {k} has {c} rows" for k, c in by_key.items() if c != 1][:10]
    statuses = Counter(r.status for r in rows)
    if set(statuses) != {"loaded"}:
        problems.append(f"ledger statuses {dict(statuses)}")
    problems += [f"ledger: {r.obj.key} rows={r.rows} bad={r.bad_rows}" for r in rows
                 if r.status == "loaded" and (r.rows, r.bad_rows) != (RECORDS_PER_OBJECT, 0)][:10]

    # staging: the files the ledger names hold each record once
    files = [f for r in rows if r.status == "loaded" for f in r.staged]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        problems.append(f"{len(missing)} staged files named by the ledger are missing, e.g. {missing[0]}")
    elif files:
        ids = duckdb.sql(f"select id from read_parquet({files!r}, union_by_name=true)").fetchall()
        staged = Counter(i for (i,) in ids)
        if set(staged) != expected_ids or max(staged.values()) != 1:
            problems.append(f"staging: {len(staged)} distinct ids of {len(ids)} rows, expected {len(expected_ids)} once each")

    target = open_target(cfg, "catalog")
    # catalog: each entity once, right values, one successful CREATE audit row per record
    entities = export_entities(target, BLUEPRINT)
    got = {e["identifier"]: e["properties"] for e in entities}
    if set(got) != expected_ids:
        problems.append(f"catalog: {len(got)} entities, {len(expected_ids - set(got))} missing, "
                        f"{len(set(got) - expected_ids)} unexpected")
    wrong = [i for i, p in got.items() if i in expected_ids
             and p.get("n") != int(i[1:6]) * RECORDS_PER_OBJECT + int(i.split("-")[1])]
    if wrong:
        problems.append(f"catalog: {len(wrong)} entities with wrong values, e.g. {wrong[0]}")
    audit = audit_rows(target, mapping=MAPPING)
    actions = Counter((a["status"], a["action"]) for a in audit)
    per_record = Counter((a["object_key"], a["line"]) for a in audit)
    if actions != Counter({("SUCCESS", "CREATE"): len(expected_ids)}):
        problems.append(f"audit: {dict(actions)} (expected one successful CREATE per record)")
    if per_record and max(per_record.values()) != 1:
        problems.append(f"audit: {sum(c > 1 for c in per_record.values())} records applied more than once")

    # table: every record once
    try:
        with target.transaction() as tx:
            t = tx.query_arrow(f'SELECT id, n FROM "{TABLE}"')
    except Exception as e:  # noqa: BLE001 - reported as a problem like any other
        return problems + [f"table: cannot be read ({type(e).__name__}: {str(e).splitlines()[0]})"]
    ids = Counter(t.column("id").to_pylist())
    if set(ids) != expected_ids or (ids and max(ids.values()) != 1):
        problems.append(f"table: {t.num_rows} rows, {len(ids)} distinct ids, expected {len(expected_ids)} once each")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--objects", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-delay", type=float, default=None,
                    help="latest kill moment in seconds after a run starts (default: learnt from runs)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)

    import boto3

    from s3_pipelines.local_s3 import MotoServer

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="s3p-crash-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    summary: dict = {"seed": seed, "objects": args.objects, "kills_asked": args.kills, "workdir": str(root)}
    with MotoServer(log_path=root / "moto.log") as server:
        bucket = "crash-test"
        s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="AKIACRASHTEST0001", aws_secret_access_key="crash-secret")
        s3.create_bucket(Bucket=bucket)
        config = write_config(root, server.endpoint_url, bucket)
        home = root / "dagster_home"
        env = {**os.environ, KEY_ENV: "AKIACRASHTEST0001", SECRET_ENV: "crash-secret", "DAGSTER_HOME": str(home),
               "S3_PIPELINES_CONFIG": str(config)}
        cmd = [sys.executable, "-m", "s3_pipelines.cli", "run", "--config", str(config)]

        # in key order: the stream lists with start_after (keys sort by arrival, as Airbyte writes them)
        step = -(-args.objects // (args.kills + 1))
        slices = [list(range(args.objects))[k * step:(k + 1) * step] for k in range(args.kills + 1)]
        killed, finished_early, durations, kill_moments = 0, 0, [], []
        log = open(root / "runs.log", "ab")
        # a run with nothing to do: how long the process takes to start (imports, Dagster, listing)
        t0 = time.monotonic()
        subprocess.run(cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=600)
        startup = time.monotonic() - t0
        min_delay = 0.7 * startup  # kills land from just before the work starts ...
        max_delay = args.max_delay or 2 * startup  # ... to the end of a whole run (learnt below)

        attempt = 0
        while killed < args.kills:
            # the next slice of objects arrives
            put_objects(server.endpoint_url, bucket, slices[attempt] if attempt < len(slices) else [])
            attempt += 1
            delay = rng.uniform(min_delay, max_delay)
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
            try:
                proc.wait(delay)
                finished_early += 1
                durations.append(time.monotonic() - t0)
                if args.max_delay is None:  # aim kills inside a whole run
                    max_delay = max(max_delay, 0.95 * durations[-1])
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed += 1
                kill_moments.append(round(delay, 2))
                if args.max_delay is None:  # reach later steps (catalog, table) too as runs grow
                    max_delay *= 1.05
            if attempt > 10 * args.kills + 10:
                break
        # the slices not uploaded yet, then runs to completion
        put_objects(server.endpoint_url, bucket, [i for s in slices[attempt:] for i in s])
        final_runs, rc = 0, None
        for _ in range(3):
            final_runs += 1
            rc = subprocess.run(cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                timeout=1800).returncode
            if rc == 0 and not verify(config, args.objects):
                break
        log.close()
        problems = verify(config, args.objects)
    summary.update({
        "kills": killed, "runs_finished_before_their_kill": finished_early, "kill_moments_s": kill_moments,
        "startup_s": round(startup, 2), "finished_run_durations_s": [round(d, 2) for d in durations],
        "final_runs": final_runs, "final_exit_code": rc, "records": args.objects * RECORDS_PER_OBJECT,
        "problems": problems, "ok": not problems and rc == 0, "seconds": round(time.monotonic() - started, 1),
    })
    print(json.dumps(summary, indent=2))
    if not args.keep and summary["ok"] and args.workdir is None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
