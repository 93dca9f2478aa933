"""Names as the seeds write them (issue 14): connection `demo-conn`, stream `Koalas-2024`, table
`Koalas`. They validate, build Dagster definitions under Dagster-safe names (config/names.py) and
load end to end through `s3-pipelines run`; the CLI and the ledger keep the file's names."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import boto3
import dagster as dg
import duckdb

from s3_pipelines.check import load_checked
from s3_pipelines.config.names import clashes, dagster_name
from s3_pipelines.dagster_defs import build_definitions


def config_text(server, bucket: str) -> str:
    return f"""
connections:
  demo-conn:
    type: s3
    bucket: {bucket}
    endpoint_url: {server.endpoint_url}
    region: us-east-1
    auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: S3P_NAMES_KEY}}, aws_secret_access_key: {{env: S3P_NAMES_SECRET}}}}
  Catalog-Main: {{type: duckdb, path: state/catalog.duckdb}}
streams:
  Koalas-2024:
    connection: demo-conn
    select: {{prefixes: [sessions/]}}
    format: jsonl
    sensor: false
blueprints:
  session: {{title: Session, properties: {{city: {{type: string}}}}}}
mappings:
  - {{name: sessions, stream: Koalas-2024, blueprint: session, entity: {{identifier: .body.session, properties: {{city: .body.city}}}}}}
tables:
  Koalas:
    stream: Koalas-2024
    create_table_if_not_exists: true
    input_schema: [{{name: city, type: string}}, {{name: session_length, type: long}}]
    mappings:
      - {{column: city, expression: '"city"'}}
      - {{column: max_session_length, expression: 'MAX("session_length")', aggregate: true}}
"""


def test_dagster_names():
    assert dagster_name("demo-conn") == "demo_conn" and dagster_name("Koalas") == "Koalas"
    assert clashes(["a-b", "a_b", "c"]) == [("a-b", "a_b")]


def test_seed_names_build_and_run(tmp_path, moto_server, new_bucket, monkeypatch):
    bucket = new_bucket(moto_server).bucket
    monkeypatch.setenv("S3P_NAMES_KEY", moto_server.access_key)
    monkeypatch.setenv("S3P_NAMES_SECRET", moto_server.secret_key)
    config = tmp_path / "pipelines.yaml"
    config.write_text(config_text(moto_server, bucket))
    cfg = load_checked(config, check_env=True)
    defs = build_definitions(cfg)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"Koalas_2024/objects", "Koalas_2024/records", "Koalas_2024/entities/sessions", "tables/Koalas"} <= keys
    assert defs.resolve_job_def("Koalas_2024_job") and defs.resolve_sensor_def("Koalas_2024_sensor")

    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=moto_server.access_key, aws_secret_access_key=moto_server.secret_key)
    rows = [{"city": "Sydney", "session": "S1", "session_length": 10}, {"city": "Sydney", "session": "S2", "session_length": 30}]
    s3.put_object(Bucket=bucket, Key="sessions/a.jsonl.gz", Body=gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "run", "--select", "Koalas-2024", "--config", str(config)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Koalas-2024" in r.stdout
    con = duckdb.connect(str(tmp_path / "state" / "catalog.duckdb"), read_only=True)
    assert con.execute('SELECT city, max_session_length FROM "Koalas"').fetchall() == [("Sydney", 30)]
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "partitions", "--stream", "Koalas-2024", "--config", str(config)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert "Koalas-2024: 1 partition(s) with objects" in r.stdout, r.stdout + r.stderr


def test_names_that_clash_in_dagster_are_refused(tmp_path, moto_server):
    config = tmp_path / "pipelines.yaml"
    text = config_text(moto_server, "bkt") + """  Koalas_2024:
    connection: demo-conn
    select: {prefixes: [other/]}
""".replace("  Koalas_2024", "  Koalas_2024", 1)
    # a second stream whose Dagster name is the first's
    text = text.replace("blueprints:", "  Koalas_2024:\n    connection: demo-conn\n    select: {prefixes: [other/]}\nblueprints:", 1)
    text = text.split("tables:")[0]
    config.write_text(text)
    try:
        load_checked(config)
    except Exception as e:  # ConfigError
        assert "'Koalas-2024' and 'Koalas_2024' are both 'Koalas_2024' in Dagster" in str(e), str(e)
    else:
        raise AssertionError("a clash was accepted")


def test_checks_name_their_partition(tmp_path, moto_server, new_bucket, monkeypatch):
    """The check page shows no partition: the results say which one they judged."""
    import datetime as dt

    bucket = new_bucket(moto_server).bucket
    monkeypatch.setenv("S3P_NAMES_KEY", moto_server.access_key)
    monkeypatch.setenv("S3P_NAMES_SECRET", moto_server.secret_key)
    config = tmp_path / "pipelines.yaml"
    config.write_text(config_text(moto_server, bucket))
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=moto_server.access_key, aws_secret_access_key=moto_server.secret_key)
    s3.put_object(Bucket=bucket, Key="sessions/a.jsonl.gz",
                  Body=gzip.compress(b'{"city": "Sydney", "session": "S1", "session_length": 1}\n{not json\n'))
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    job = build_definitions(load_checked(config)).resolve_job_def("Koalas_2024_job")
    result = job.execute_in_process(partition_key=today, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    parse = evaluations["parse_errors"]
    assert parse.metadata["partition"].value == today and not parse.passed
    assert parse.description.startswith(f"partition {today}: 0 unreadable object(s), 0 skipped, 1 bad record(s)")
    assert evaluations["audit_failures"].metadata["partition"].value == today


def test_owners_and_tags_from_config(tmp_path, moto_server):
    config = tmp_path / "pipelines.yaml"
    config.write_text(config_text(moto_server, "bkt").replace(
        "    sensor: false\n", "    sensor: false\n    owners: [team:ingest, ana@example.com]\n    tags: {domain: sessions}\n", 1))
    defs = build_definitions(load_checked(config))
    graph = defs.resolve_asset_graph()
    for key in ("Koalas_2024/objects", "Koalas_2024/records", "Koalas_2024/entities/sessions", "tables/Koalas"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert set(node.owners) == {"team:ingest", "ana@example.com"}, key
        assert node.tags.get("domain") == "sessions", key
    entities = graph.get(dg.AssetKey.from_user_string("Koalas_2024/entities/sessions"))
    assert "catalog Catalog-Main" not in (entities.description or "") and "the `Catalog-Main` catalog" in entities.description


def test_destination_and_sync_names_with_hyphens_build(tmp_path, moto_server):
    """Destinations and syncs follow the same naming rule: the file's names, Dagster-safe keys."""
    config = tmp_path / "pipelines.yaml"
    config.write_text(config_text(moto_server, "bkt").split("tables:")[0] + """destinations:
  Archive-EU:
    connection: demo-conn
    prefix: exports/
    format: ndjson.gz
    batch_window: 1m
    from: {stream: Koalas-2024}
syncs:
  nightly-copy: {kind: bulk, source: demo-conn, destination: demo-conn, subfolder: copies, format: parquet,
                 mode: snapshot, streams: [Koalas-2024]}
""")
    defs = build_definitions(load_checked(config))
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"destinations/Archive_EU", "syncs/nightly_copy"} <= keys
    assert defs.resolve_job_def("nightly_copy_job")
