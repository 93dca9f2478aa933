"""Running destinations and syncs as a user types it: `s3-pipelines run --select NAME` with a
destination's and a sync's name, and `dagster job backfill` of the bulk sync's stream × day job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from s3_pipelines.cli import main

from .conftest import KEY_ENV, SECRET_ENV, TODAY

CONFIG = """
streams:
  events: {connection: lake, select: {prefixes: ["in/events/"]}, format: jsonl}
destinations:
  archive: {connection: lake, prefix: exports/, format: csv, batch_window: 1h, from: {stream: events}}
syncs:
  accounts: {kind: model, source: {connection: lake, model_from: single_file, key: crm/accounts.csv},
             target: {connection: lake, subfolder: models/, format: json-doc}}
  copy: {kind: bulk, source: lake, destination: lake, subfolder: copies, format: parquet}
"""


def _home(setup) -> dict:
    home = setup.root / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
    return {"DAGSTER_HOME": str(home)}


def test_run_select_destination_and_sync(setup, monkeypatch, capsys):
    setup.write(CONFIG)
    setup.put("in/events/a.jsonl", b'{"id":1,"v":"x"}\n{"id":2,"v":"y"}\n')
    setup.put("crm/accounts.csv", b"id,name\n1,Ann\n")
    for k, v in _home(setup).items():
        monkeypatch.setenv(k, v)
    assert main(["run", "--config", str(setup.config), "--select", "archive", "accounts"]) == 0
    out = capsys.readouterr().out
    assert [k for k in setup.keys("exports/") if k.endswith(".csv")]
    m = json.loads(setup.get(f"models/accounts/{TODAY}/_manifest.json"))
    assert json.loads(setup.get(m["objects"][0]["key"])) == [{"id": 1, "name": "Ann"}]
    assert "accounts" in out and "events" in out
    assert main(["run", "--config", str(setup.config), "--select", "nope"]) == 2
    assert "no stream, destination or sync named nope" in capsys.readouterr().err


def test_dagster_job_backfill_of_the_bulk_job(setup, monkeypatch):
    """`dagster job backfill` over stream × day keys; runs launched at once (DefaultRunCoordinator)."""
    import time

    import dagster as dg

    setup.write(CONFIG.replace("streams:\n", "streams:\n  more: {connection: lake, select: {prefixes: [\"in/more/\"]}, format: jsonl}\n"))
    setup.put("in/events/a.jsonl", b'{"id":1}\n')
    setup.put("in/more/b.jsonl", b'{"id":2}\n{"id":3}\n')
    home = setup.root / "backfill_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_coordinator:\n  module: dagster._core.run_coordinator\n"
                                       "  class: DefaultRunCoordinator\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "S3_PIPELINES_CONFIG": str(setup.config),
           KEY_ENV: setup.server.access_key, SECRET_ENV: setup.server.secret_key}
    r = subprocess.run([sys.executable, "-m", "dagster", "job", "backfill", "-m", "s3_pipelines.definitions",
                        "-j", "copy_job", "--partitions", f"{TODAY}|events,{TODAY}|more", "--noprompt"],
                       capture_output=True, text=True, env=env, cwd=setup.root, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + 180
        while True:
            runs = instance.get_runs(dg.RunsFilter(job_name="copy_job"))
            if len(runs) == 2 and all(run.is_finished for run in runs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert sorted(run.tags["dagster/partition"] for run in runs) == [f"{TODAY}|events", f"{TODAY}|more"]
        assert all(run.is_success for run in runs), [run.status for run in runs]
    for stream, n in (("events", 1), ("more", 2)):
        assert json.loads(setup.get(f"copies/{stream}/{TODAY}/_manifest.json"))["rows"] == n
