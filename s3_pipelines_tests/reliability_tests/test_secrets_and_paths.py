"""Secrets stay secret, paths stay inside, servers stay local.

- A pipeline with a wrong secret (and one with a wrong key id) on rclone serve s3, which checks
  credentials, materialized with `dagster asset materialize`: the run fails saying which bucket and
  which key (AKIA…last 4), and neither the secret nor the whole key id is in the output, the Dagster
  event log, compute logs, run records, run config and tags, error texts, or the engine's state.
- Object keys cannot place files outside the staging folder.
- Local servers started by the project listen on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from s3_pipelines.config.secrets import last4
from s3_pipelines.local_s3 import MotoServer, free_port

from .conftest import KEY_ENV, SECRET_ENV, Lake, today
from .corpus import lines


@pytest.fixture
def rclone_lake(tmp_path, rclone_server, new_bucket, monkeypatch) -> Lake:
    conn = new_bucket(rclone_server)
    monkeypatch.setenv(KEY_ENV, rclone_server.access_key)
    monkeypatch.setenv(SECRET_ENV, rclone_server.secret_key)
    lake = Lake(tmp_path, rclone_server, conn.bucket)
    lake.configure({"s": {"select": {"prefixes": ["in/"]}, "format": "jsonl"}})
    lake.put("in/a.jsonl", lines('{"id": 1}'))
    return lake


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)} holds {n[:6]!r}…" for n in needles if n in data]
    return found


@pytest.mark.parametrize("wrong", ["secret", "key_id"])
def test_wrong_credentials_never_leak_and_say_what_is_wrong(rclone_lake, wrong, monkeypatch):
    lake, server = rclone_lake, rclone_lake.server
    key_id, secret = server.access_key, server.secret_key
    if wrong == "secret":
        secret = "Wrong-Secret-" + "Zq9x8c7v6b5n4m3l2k1j"
    else:
        key_id = "AKIAWRONGKEYID7Q3X"
    env = {**os.environ, **lake.env, KEY_ENV: key_id, SECRET_ENV: secret}
    r = subprocess.run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "s3_pipelines.definitions",
                        "--select", "s/objects,s/records", "--partition", today()],
                       capture_output=True, text=True, env=env, cwd=lake.root, timeout=240)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    expected = f"access denied for bucket {lake.bucket} with access key {last4(key_id)}"
    assert expected in out, out[-3000:]

    needles = [secret.encode(), key_id.encode(), server.secret_key.encode()]
    if wrong == "key_id":
        needles.append(server.access_key.encode())  # the right key id was never configured: never seen
    for n in needles:
        assert n.decode() not in out
    assert _files_holding(lake.root, needles) == []  # DAGSTER_HOME (storage, logs), ledger, staging, config

    # Dagster's own records, read back: the failure explains itself, the run shows no secret
    monkeypatch.setenv("DAGSTER_HOME", lake.env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE
        texts = [repr(run.run_config), repr(run.tags)]
        errors = []
        for record in instance.all_logs(run.run_id):
            ev = record.dagster_event
            texts.append(record.user_message or "")
            if ev is not None and ev.is_step_failure and ev.step_failure_data.error:
                errors.append(ev.step_failure_data.error.to_string())
        assert any(expected in e for e in errors), errors
        assert KEY_ENV in repr(run.run_config) or "lake" not in repr(run.run_config)  # variable names, not values
        blob = "\n".join(texts + errors)
        for n in needles:
            assert n.decode() not in blob


def test_object_keys_cannot_place_files_outside_staging(lake):
    keys = ["in/../../../../tmp/s3p-escape.jsonl", "in/..\\..\\win.jsonl", "in/%2e%2e/enc.jsonl",
            "in//double//slash.jsonl", "in/./dot.jsonl", "in/" + "deep/" * 40 + "x.jsonl", "in/~root.jsonl",
            "in/nul\x01ctl.jsonl"]
    lake.configure({"s": {"select": {"prefixes": ["in/"]}, "format": "jsonl"}})
    for k in keys:
        lake.put(k, lines('{"id": 1}'))
    before = set(Path("/tmp").glob("s3p-escape*"))
    assert lake.run("s").success

    cfg = lake.load()
    staging = cfg.resolve(cfg.state.staging.path).resolve()
    rows = lake.ledger.rows("s")
    assert sorted(r.obj.key for r in rows) == sorted(keys) and {r.status for r in rows} == {"loaded"}
    for r in rows:
        for f in r.staged:
            assert staging in Path(f).resolve().parents, f
            assert re.fullmatch(r"[0-9a-f]{32}-\d{4}\.parquet", Path(f).name), f  # named by hash, not by key
    # nothing appeared anywhere else: only the config, state (ledger, catalog, staging) in the lake's folder
    assert {p.name for p in lake.root.iterdir()} <= {"pipelines.yaml", "state", ".s3_pipelines", "dagster_home"}
    assert set(Path("/tmp").glob("s3p-escape*")) == before


def _listeners(port: int) -> set[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:  # LISTEN
                found.add(addr)
    return found


def test_local_servers_listen_on_127_0_0_1_only(moto_server):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs /proc/net/tcp")
    port = int(moto_server.endpoint_url.rsplit(":", 1)[1])
    assert _listeners(port) == {"0100007F"}  # 127.0.0.1, and not 0.0.0.0 or ::
    with MotoServer() as demo_server:  # the class `s3-pipelines demo` uses
        assert _listeners(demo_server.port) == {"0100007F"}
    # the project's free-port helper reserves on loopback, and no source binds every interface
    s = socket.socket()
    s.bind(("127.0.0.1", free_port()))
    s.close()
    src = Path(__file__).resolve().parents[2] / "s3_pipelines"
    offenders = [str(p) for p in src.rglob("*.py") if re.search(r"0\.0\.0\.0|bind\(\(\"\"|host=\"\"", p.read_text())]
    assert offenders == []
