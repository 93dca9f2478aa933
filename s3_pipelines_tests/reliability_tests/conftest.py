"""A lake for reliability tests: a fresh bucket of the moto server (a real HTTP server), a
pipelines file written from dicts, and helpers to run a stream's Dagster job for today's partition
and read back what the engine recorded (ledger, bad records, staged rows, asset check)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import dagster as dg
import duckdb
import pyarrow as pa
import pytest
import yaml

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.dagster_defs.stream_assets import DISCOVERED_TAG, records_key
from s3_pipelines.ledger import Ledger

from ..dagster_tests.conftest import Pipeline

KEY_ENV, SECRET_ENV = "S3P_REL_KEY", "S3P_REL_SECRET"
REPO = Path(__file__).resolve().parents[2]


def dagster_home(root: Path) -> Path:
    """A DAGSTER_HOME under `root` with the project's dagster.yaml (as the `run` command makes)."""
    home = root / "dagster_home"
    if not home.exists():
        home.mkdir()
        (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    return home


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


class Lake:
    def __init__(self, root: Path, server, bucket: str, endpoint_url: str | None = None):
        self.root, self.server, self.bucket = root, server, bucket
        self.endpoint_url = endpoint_url or server.endpoint_url  # what the pipeline uses (a proxy, maybe)
        self.config = root / "pipelines.yaml"
        self.s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
        self.instance = dg.DagsterInstance.ephemeral()

    # --- config --------------------------------------------------------------------------------

    def configure(self, streams: dict, **sections) -> None:
        """streams: name -> stream fields (connection `lake` is filled in); sections: blueprints,
        mappings, tables... as dicts."""
        doc = {
            "connections": {
                "lake": {"type": "s3", "bucket": self.bucket, "endpoint_url": self.endpoint_url,
                         "region": "us-east-1", "max_attempts": sections.pop("max_attempts", 8),
                         "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": KEY_ENV},
                                  "aws_secret_access_key": {"env": SECRET_ENV}}},
                "catalog": {"type": "duckdb", "path": "state/catalog.duckdb"},
            },
            "streams": {name: {"connection": "lake", "sensor": False, **s} for name, s in streams.items()},
            **sections,
        }
        self.config.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    def load(self):
        return load_config(self.config)

    env = Pipeline.env  # the config and a DAGSTER_HOME holding the project's dagster.yaml

    # --- objects -------------------------------------------------------------------------------

    def put(self, key: str, body: bytes) -> str:
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"].strip('"')

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    # --- running -------------------------------------------------------------------------------

    def run(self, stream: str, partition: str | None = None, *, discovered: bool = False):
        """The stream's job for a partition, in process. `discovered`: as a sensor-triggered run
        (objects already in the ledger), else as a hand-launched one (it lists S3 itself)."""
        job = build_definitions(self.load()).resolve_job_def(f"{stream}_job")
        tags = {DISCOVERED_TAG: "1"} if discovered else {}
        return job.execute_in_process(partition_key=partition or today(), instance=self.instance,
                                      raise_on_error=False, tags=tags)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.load().ledger_path())

    def row(self, stream: str, key: str, status: str | None = None):
        rows = [r for r in self.ledger.rows(stream) if r.obj.key == key and (status is None or r.status == status)]
        assert len(rows) == 1, [(r.obj.key, r.status) for r in self.ledger.rows(stream)]
        return rows[0]

    def bad(self, stream: str, key: str) -> list[dict]:
        return [b for b in self.ledger.bad_records(stream, limit=10_000) if b["key"] == key]

    def staged(self, stream: str, key: str | None = None) -> pa.Table:
        """Rows of the staged files of loaded object versions (optionally of one key)."""
        files = [f for r in self.ledger.rows(stream, status="loaded") if key is None or r.obj.key == key
                 for f in r.staged]
        if not files:
            return pa.table({})
        return duckdb.sql(f"select * from read_parquet({files!r}, union_by_name=true)").to_arrow_table()


def materialization(result, key: dg.AssetKey) -> dict:
    mats = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == key]
    assert len(mats) == 1, mats
    return {k: v.value for k, v in mats[0].metadata.items()}


def step_failure(result, key: dg.AssetKey) -> tuple[str, dict]:
    """The failed step of an asset: (the Failure's one-line description, its metadata)."""
    fails = [e.step_failure_data.user_failure_data for e in result.all_events
             if e.is_step_failure and e.step_key == key.to_python_identifier()]
    assert len(fails) == 1 and fails[0] is not None, fails
    return fails[0].description, {k: v.value for k, v in fails[0].metadata.items()}


def check_eval(result, key: dg.AssetKey, name: str):
    evals = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
             and e.event_specific_data.asset_key == key and e.event_specific_data.check_name == name]
    assert len(evals) == 1, evals
    return evals[0]


def parse_check(result, stream: str):
    """The `parse_errors` check of a stream's records: (passed, metadata dict)."""
    ev = check_eval(result, records_key(stream), "parse_errors")
    return ev.passed, {k: v.value for k, v in ev.metadata.items()}


@pytest.fixture
def lake(tmp_path, moto_server, new_bucket, monkeypatch) -> Lake:
    conn = new_bucket(moto_server)
    monkeypatch.setenv(KEY_ENV, moto_server.access_key)
    monkeypatch.setenv(SECRET_ENV, moto_server.secret_key)
    return Lake(tmp_path, moto_server, conn.bucket)
