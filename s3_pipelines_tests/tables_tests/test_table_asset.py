"""The table asset in Dagster: seed 003's Koalas job written into a pipelines file, its stream job
run for a partition (objects -> records -> table), Polaris' job report as metadata; more parse
errors than max_parse_exceptions fail the run and say so."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import yaml

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import build_definitions

from .conftest import ndjson_gz
from .test_koalas import KEY, SESSIONS, koalas_job

TABLE = dg.AssetKey(["tables", "koalas"])


def _pipeline(lake, tmp_path, monkeypatch, **job_extra):
    server = lake.conn
    monkeypatch.setenv("S3P_TABLE_KEY", "test")
    monkeypatch.setenv("S3P_TABLE_SECRET", "test")
    cfg = {
        "connections": {
            "lake": {"type": "s3", "bucket": server.bucket, "endpoint_url": server.endpoint_url, "region": "us-east-1",
                     "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "S3P_TABLE_KEY"},
                              "aws_secret_access_key": {"env": "S3P_TABLE_SECRET"}}},
            "catalog": {"type": "duckdb", "path": "catalog.duckdb"},
        },
        "streams": {},
        "tables": {"koalas": koalas_job(server.bucket, **job_extra)},
    }
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


def _run(cfg, partition):
    defs = build_definitions(cfg)
    job = defs.resolve_job_def("koalas__source_job")
    return job.execute_in_process(partition_key=partition, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _partition(lake) -> str:
    head = lake.client.head(KEY)
    return head.last_modified.astimezone(dt.timezone.utc).date().isoformat()


def test_table_asset_materializes_with_the_polaris_job_report(duck_lake, tmp_path, monkeypatch):
    duck_lake.put(KEY, ndjson_gz(SESSIONS))
    cfg = _pipeline(duck_lake, tmp_path, monkeypatch)
    result = _run(cfg, _partition(duck_lake))
    assert result.success
    [mat] = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
             if e.event_specific_data.materialization.asset_key == TABLE]
    md = {k: v.value for k, v in mat.metadata.items()}
    assert (md["status"], md["rows_processed"], md["rows_persisted"], md["rows_skipped_by_error"]) == ("completed", 6, 3, 2)
    exceptions = [r.data for r in md["parse_exceptions"].records]
    assert {"object": KEY, "line": 5, "reason": '__time: TIME_PARSE("timestamp") gave no timestamp'} in exceptions
    assert {"object": KEY, "line": 6, "reason": "column session_length: 'long?' is not a long"} in exceptions
    assert md["dagster/row_count"] == 3 and md["dagster/table_name"].endswith(".Koalas")
    duck_lake.cfg = cfg
    assert [r["max_session_length"] for r in duck_lake.rows("Koalas", '"__time", city')] == [5, 30, 7]


def test_too_many_parse_exceptions_fail_the_table_asset(duck_lake, tmp_path, monkeypatch):
    duck_lake.put(KEY, ndjson_gz(SESSIONS))
    cfg = _pipeline(duck_lake, tmp_path, monkeypatch, maxParseExceptions=1)
    result = _run(cfg, _partition(duck_lake))
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "koalas" in failure.step_key
    data = failure.step_failure_data.user_failure_data
    assert data.description == "table Koalas: 2 parse exception(s), more than max_parse_exceptions (1); nothing was written"
    assert data.metadata["status"].value == "failed" and data.metadata["rows_persisted"].value == 0
    assert not [e for e in result.get_asset_materialization_events()
                if e.event_specific_data.materialization.asset_key == TABLE]
