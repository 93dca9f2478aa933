"""A pipelines file over an event bucket, sensor ticks as the daemon evaluates them, and the runs
they ask for executed in process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import dagster as dg

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import build_definitions

KEY_ENV, SECRET_ENV = "S3P_EV_KEY", "S3P_EV_SECRET"


def write_config(root: Path, bucket, streams: str, extra: str = "", monkeypatch=None, server=None) -> Path:
    if monkeypatch is not None:
        monkeypatch.setenv(KEY_ENV, server.access_key)
        monkeypatch.setenv(SECRET_ENV, server.secret_key)
    conn = bucket.conn
    path = root / "pipelines.yaml"
    path.write_text(textwrap.dedent(f"""
        connections:
          lake:
            type: s3
            bucket: {conn.bucket}
            endpoint_url: {conn.endpoint_url}
            region: us-east-1
            auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: {KEY_ENV}}}, aws_secret_access_key: {{env: {SECRET_ENV}}}}}
            event_queue_url: {bucket.queue_url}
          catalog: {{type: duckdb, path: state/catalog.duckdb}}
        state: {{staging: {{path: state/staging}}}}
    """) + textwrap.dedent(streams) + textwrap.dedent(extra))
    return path


def defs_of(path: Path):
    cfg = load_config(path)
    return cfg, build_definitions(cfg)


def tick(defs, instance, sensor_name: str, cursor: str | None):
    sensor = defs.resolve_sensor_def(sensor_name)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources,
                                 definitions=defs) as ctx:
        result = sensor.evaluate_tick(ctx)
    return result, result.cursor


def execute(defs, instance, requests) -> list:
    """Each run request launched as the daemon would (same job, partition, tags, selection)."""
    results = []
    for r in requests:
        job = defs.resolve_job_def(r.job_name)
        results.append(job.execute_in_process(
            instance=instance, partition_key=r.partition_key, tags=r.tags, raise_on_error=True,
            asset_selection=list(r.asset_selection) if r.asset_selection else None))
    return results


def body_key(body: str) -> str | None:
    doc = json.loads(body)
    if "Records" in doc:
        return doc["Records"][0]["s3"]["object"]["key"]
    return None
