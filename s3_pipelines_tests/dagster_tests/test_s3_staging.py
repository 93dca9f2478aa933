"""Staging under an S3 prefix (deployments where steps run on several machines)."""

import boto3

from s3_pipelines.ledger import Ledger
from s3_pipelines.dagster_defs.runner import run_pending
from s3_pipelines.staging import StagingStore


def test_records_staged_under_an_s3_prefix_and_read_back(pipeline, monkeypatch):
    pipeline.config.write_text(pipeline.config.read_text() + "\nstate:\n  staging: {connection: lake, prefix: _staging/}\n")
    cfg = pipeline.load()
    monkeypatch.setenv("DAGSTER_HOME", pipeline.env["DAGSTER_HOME"])
    outcomes = {o.stream: o for o in run_pending(cfg, ["users"], log=lambda m: None)}
    assert outcomes["users"].ok and outcomes["users"].rows == 50
    rows = Ledger(cfg.ledger_path()).rows("users", status="loaded")
    files = [f for r in rows for f in r.staged]
    assert files and all(f.startswith(f"s3://{pipeline.bucket}/_staging/users/") for f in files)
    s3 = boto3.client("s3", endpoint_url=pipeline.server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=pipeline.server.access_key, aws_secret_access_key=pipeline.server.secret_key)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=pipeline.bucket, Prefix="_staging/")["Contents"]]
    assert sorted(keys) == sorted(f.split("/", 3)[3] for f in files)
    from s3_pipelines.connections.s3 import S3Client

    store = StagingStore(pipeline.root / "tmp", s3_client=S3Client.from_config(cfg.s3_connection("lake")), prefix="_staging/")
    ids = {r["id"] for b in store.read_batches(files) for r in b.to_pylist()}
    assert ids == {f"U{i:05d}" for i in range(50)}
    # nothing was left in the local staging folder
    assert not (cfg.resolve(".s3_pipelines/staging") / "users").exists()
