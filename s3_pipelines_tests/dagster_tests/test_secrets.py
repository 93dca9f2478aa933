"""Wrong credentials: the run fails, says what is wrong, and never shows the secret."""

import os
import subprocess
import sys

import pytest

from .conftest import SECRET_ENV


@pytest.mark.parametrize("pipeline", ["rclone"], indirect=True)  # rclone checks credentials
def test_wrong_secret_is_reported_without_the_secret(pipeline, monkeypatch):
    wrong = "wrong-secret-Zq9x8c7v6b5n4m3"
    env = {**os.environ, **pipeline.env, SECRET_ENV: wrong}
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "run"], capture_output=True, text=True,
                       env=env, cwd=pipeline.root, timeout=180)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    key = pipeline.server.access_key
    assert f"access denied for bucket {pipeline.bucket}" in out
    assert f"{key[:4]}…{key[-4:]}" in out
    assert wrong not in out and key not in out
    # nothing in Dagster's storage (event log, run records, compute logs) holds it either
    for root, _, files in os.walk(pipeline.env["DAGSTER_HOME"]):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert wrong.encode() not in data, f


@pytest.mark.parametrize("pipeline", ["rclone"], indirect=True)
def test_failed_materialization_logs_the_reason_not_the_secret(pipeline):
    import datetime as dt

    wrong = "wrong-secret-Pp0o9i8u7y6t5r4"
    env = {**os.environ, **pipeline.env, SECRET_ENV: wrong}
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    r = subprocess.run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "s3_pipelines.definitions",
                        "--select", "users/objects,users/records", "--partition", day],
                       capture_output=True, text=True, env=env, cwd=pipeline.root, timeout=180)
    assert r.returncode != 0
    assert wrong not in r.stdout + r.stderr
    assert "access denied" in r.stdout + r.stderr
    seen_reason = False
    for root, _, files in os.walk(pipeline.env["DAGSTER_HOME"]):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert wrong.encode() not in data, f
            seen_reason |= b"access denied" in data
    assert seen_reason  # the run's event log says what went wrong
