"""What `s3-pipelines run` prints (issue 14): an expected table failure in one line, blamed on the
table's asset, no stack trace; `--select` reports only what it touched; `--format json` for scripts;
the per-asset table; no line per object when stdout is not a terminal."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import boto3

from .test_seed_names import config_text


def setup(tmp_path, moto_server, new_bucket, monkeypatch, objects: int = 3, create_table: bool = True):
    bucket = new_bucket(moto_server).bucket
    monkeypatch.setenv("S3P_NAMES_KEY", moto_server.access_key)
    monkeypatch.setenv("S3P_NAMES_SECRET", moto_server.secret_key)
    text = config_text(moto_server, bucket)
    if not create_table:
        text = text.replace("    create_table_if_not_exists: true\n", "", 1)
    # a second stream with a table of its own, which `run --select Koalas-2024` must not report
    text = text.replace("blueprints:", """  other:
    connection: demo-conn
    select: {prefixes: [other/]}
    format: jsonl
    sensor: false
blueprints:""", 1) + """  other_table:
    stream: other
    create_table_if_not_exists: true
    input_schema: [{name: city, type: string}]
    mappings:
      - {column: city, expression: '"city"'}
"""
    config = tmp_path / "pipelines.yaml"
    config.write_text(text)
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=moto_server.access_key, aws_secret_access_key=moto_server.secret_key)
    for i in range(objects):
        rows = [{"city": "Sydney", "session": f"S{i}", "session_length": 10 + i}]
        s3.put_object(Bucket=bucket, Key=f"sessions/{i}.jsonl.gz",
                      Body=gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    return config


def run(config, tmp_path, *args):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "run", *args, "--config", str(config)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_expected_table_failure_is_one_line_blamed_on_the_table(tmp_path, moto_server, new_bucket, monkeypatch):
    config = setup(tmp_path, moto_server, new_bucket, monkeypatch, create_table=False)
    r = run(config, tmp_path, "--select", "Koalas-2024")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr and "dagster._core" not in r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith("error: tables/Koalas [") and "does not exist" in errors[0], errors
    assert "create_table_if_not_exists" in errors[0]
    # the stream itself loaded: its row says ok; the table's line in the asset table says FAILED
    assert [line.split()[-1] for line in r.stdout.splitlines() if line.startswith("Koalas-2024 ")] == ["ok"]
    assert [line.split()[-1] for line in r.stdout.splitlines() if line.startswith("tables/Koalas ")] == ["FAILED"]


def test_select_reports_only_what_it_touched_and_json(tmp_path, moto_server, new_bucket, monkeypatch):
    config = setup(tmp_path, moto_server, new_bucket, monkeypatch, objects=5)
    r = run(config, tmp_path, "--select", "Koalas-2024")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "other" not in out, out  # neither the other stream nor its table
    assert "catalog catalog" not in out and "entities in `Catalog-Main`, per blueprint:" in out
    assert "Koalas" in out and "row(s) in Catalog-Main.Koalas" in out
    # not a terminal: a start and an end line per stream, no line per object
    assert "sessions/0.jsonl.gz" not in out and "loaded " not in out
    assert "Koalas-2024: objects: 5/5 done" in out
    assets = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("Koalas_2024/", "tables/"))}
    assert assets["Koalas_2024/records"][2:5] == ["5", "5", "0"]  # objects, rows, bad rows
    assert assets["Koalas_2024/entities/sessions"][5] == "5"  # entities

    # nothing new: JSON a script can parse, nothing materialized
    r = run(config, tmp_path, "--select", "Koalas-2024", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and [s["stream"] for s in doc["streams"]] == ["Koalas-2024"]
    assert doc["assets"] == [] and doc["failures"] == []
