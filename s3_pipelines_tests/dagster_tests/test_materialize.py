"""End to end: `dagster asset materialize` and `s3-pipelines run` as subprocesses, as a user types them."""

import datetime as dt
import os
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq

from s3_pipelines.ledger import Ledger

from .conftest import jsonl_gz, user_key, users


def run(args, env, cwd):
    return subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env}, cwd=cwd, timeout=240)


def staged_rows(cfg, stream):
    folder = cfg.resolve(cfg.state.staging.path) / stream
    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    return files, sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def test_dagster_asset_materialize_cli(pipeline):
    r = run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "s3_pipelines.definitions",
             "--select", "users/objects,users/records", "--partition", today()],
            pipeline.env, pipeline.root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cfg = pipeline.load()
    files, rows = staged_rows(cfg, "users")
    assert rows == 50
    table = duckdb.sql(f"select * from read_parquet({files!r}, union_by_name=true)").to_arrow_table()
    assert set(table.column("id").to_pylist()) == {f"U{i:05d}" for i in range(50)}
    assert {"_airbyte_raw_id", "_airbyte_meta", "_s3_key", "_s3_etag", "_s3_line"} <= set(table.column_names)
    ledger = Ledger(cfg.ledger_path())
    assert {r.status for r in ledger.rows("users")} == {"loaded"}
    # the same command again loads nothing twice
    r = run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "s3_pipelines.definitions",
             "--select", "users/objects,users/records", "--partition", today()], pipeline.env, pipeline.root)
    assert r.returncode == 0
    assert staged_rows(cfg, "users")[1] == 50


def test_run_command_loads_reports_and_reloads_changed_objects(pipeline):
    cmd = [sys.executable, "-m", "s3_pipelines.cli", "run", "--config", str(pipeline.config)]
    r = run(cmd, {"DAGSTER_HOME": pipeline.env["DAGSTER_HOME"]}, pipeline.root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.split()[:1] in (["users"], ["orders"])}
    assert lines["users"][1:4] == ["2", "50", "0"]
    assert lines["orders"][1:4] == ["1", "40", "1"]  # one ragged row skipped and counted
    cfg = pipeline.load()
    ledger = Ledger(cfg.ledger_path())
    bad = ledger.bad_records("orders")
    assert len(bad) == 1 and bad[0]["key"] == "exports/2026/orders.csv" and bad[0]["line"] is not None

    # nothing new: nothing loaded
    r = run(cmd, {"DAGSTER_HOME": pipeline.env["DAGSTER_HOME"]}, pipeline.root)
    assert r.returncode == 0
    assert {ln.split()[0]: ln.split()[1:3] for ln in r.stdout.splitlines() if ln.startswith(("users ", "orders "))} \
        == {"users": ["0", "0"], "orders": ["0", "0"]}

    # an object rewritten with other content (watermark listing sees rewrites) is loaded again
    # and its new rows replace the old ones; a new key of the start_after stream is picked up
    import random

    from s3_pipelines.demo.sample_data import orders_csv

    pipeline.put("exports/2026/orders.csv", orders_csv(12, random.Random(2)))
    pipeline.put(user_key(1_763_700_000), jsonl_gz(users(7, 500)))
    r = run(cmd, {"DAGSTER_HOME": pipeline.env["DAGSTER_HOME"]}, pipeline.root)
    assert r.returncode == 0, r.stderr[-2000:]
    assert staged_rows(cfg, "orders")[1] == 12
    assert staged_rows(cfg, "users")[1] == 57
    statuses = sorted(r.status for r in ledger.rows("orders"))
    assert statuses == ["loaded", "superseded"]


def test_run_command_fails_loudly_on_a_corrupt_object(pipeline):
    pipeline.put(user_key(1_763_640_000), b"\x1f\x8b\x08\x00" + b"not really gzip" * 10)
    r = run([sys.executable, "-m", "s3_pipelines.cli", "run", "--config", str(pipeline.config)],
            {"DAGSTER_HOME": pipeline.env["DAGSTER_HOME"]}, pipeline.root)
    assert r.returncode == 1
    assert "FAILED" in r.stdout
    assert user_key(1_763_640_000) in r.stderr
    # the good objects of the same stream still loaded
    assert staged_rows(pipeline.load(), "users")[1] == 50
