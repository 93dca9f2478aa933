"""A catalog pipeline on a fresh bucket of the moto S3 server: Airbyte-shaped user objects, a
DuckDB (or PostgreSQL) catalog, blueprints with a required relation, create and delete mappings."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import boto3
import dagster as dg
import pytest

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.demo.sample_data import jsonl_gz

KEY_ENV, SECRET_ENV = "S3P_MAP_TEST_KEY", "S3P_MAP_TEST_SECRET"
HOOK = "wSLvwtI1LFwQzXXX"

BLUEPRINTS_AND_MAPPINGS = """
blueprints:
  team:
    title: Team
    properties: {name: {type: string}}
    required: [name]
  user:
    title: User
    properties:
      name: {type: string}
      is_admin: {type: boolean}
      email: {type: string, format: email}
      tier: {type: string, enum: [free, pro]}
    relations:
      team: {target: team, many: false, required: true}
mappings:
  - name: users
    stream: users
    blueprint: user
    filter: .body.deleted != true
    entity:
      identifier: .body.id
      title: .body.name
      properties: {name: .body.name, is_admin: .body.is_admin, email: .body.email, tier: .body.tier}
      relations: {team: .body.team}
  - name: teams
    stream: users
    blueprint: team
    entity:
      identifier: .body.team
      properties: {name: '"Team " + .body.team'}
  - name: departures
    stream: departures
    blueprint: user
    operation: delete
    entity: {identifier: .body.id}
"""


def user(i: int, **kw) -> dict:
    rec = {"_airbyte_raw_id": f"r{i}", "_airbyte_extracted_at": "2026-11-20T09:00:00.000Z",
           "_airbyte_meta": {"changes": []}, "id": f"U{i:04d}", "name": f"user{i}", "is_admin": i % 3 == 0,
           "email": f"user{i}@example.com", "tier": "pro" if i % 2 else "free", "team": f"T{i % 3}",
           "deleted": False}
    rec.update(kw)
    return rec


def airbyte_key(stream: str, epoch: int, part: int = 0) -> str:
    when = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return f"data/{HOOK}/{stream}/year={when:%Y}/month={when:%m}/{when:%d}_{epoch * 1000}_{part}.jsonl.gz"


class CatalogPipeline:
    def __init__(self, root: Path, server, bucket: str):
        self.root, self.server, self.bucket = root, server, bucket
        self.config = root / "pipelines.yaml"
        self.s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
        self.instance = dg.DagsterInstance.ephemeral()

    def put(self, key: str, records: list[dict]) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=jsonl_gz(records))
        return self.partition_of(key)

    def partition_of(self, key: str) -> str:
        return self.s3.head_object(Bucket=self.bucket, Key=key)["LastModified"].astimezone(dt.timezone.utc).date().isoformat()

    def load(self):
        return load_config(self.config)

    def run(self, stream: str, partition: str):
        """Materialize the stream's job for a partition, as a hand-launched run (lists S3 first)."""
        job = build_definitions(self.load()).resolve_job_def(f"{stream}_job")
        result = job.execute_in_process(partition_key=partition, instance=self.instance, raise_on_error=True)
        assert result.success
        return result

    @property
    def env(self) -> dict:
        home = self.root / "dagster_home"
        if not home.exists():
            home.mkdir()
            shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
        return {"S3_PIPELINES_CONFIG": str(self.config), "DAGSTER_HOME": str(home)}


USERS_STREAMS = f"""
  users:
    connection: lake
    select: {{prefixes: ["data/{HOOK}/users/"]}}
    format: jsonl
    envelope: airbyte
    listing: {{mode: start_after}}
    sensor: false
  departures:
    connection: lake
    select: {{prefixes: ["data/{HOOK}/departures/"]}}
    format: jsonl
    sensor: false
"""


def write_config(p: CatalogPipeline, catalog: str, extra: str = BLUEPRINTS_AND_MAPPINGS,
                 streams: str = USERS_STREAMS) -> None:
    """The pipelines file: the bucket's connection, `catalog`, the `streams` section's body and
    `extra` (blueprints, mappings, ...)."""
    p.config.write_text(textwrap.dedent(f"""
        connections:
          lake:
            type: s3
            bucket: {p.bucket}
            endpoint_url: {p.server.endpoint_url}
            region: us-east-1
            auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: {KEY_ENV}}}, aws_secret_access_key: {{env: {SECRET_ENV}}}}}
          catalog: {catalog}
        streams:""") + streams + textwrap.dedent(extra))


@pytest.fixture
def catalog_pipeline(tmp_path, moto_server, new_bucket, monkeypatch) -> CatalogPipeline:
    conn = new_bucket(moto_server)
    monkeypatch.setenv(KEY_ENV, moto_server.access_key)
    monkeypatch.setenv(SECRET_ENV, moto_server.secret_key)
    p = CatalogPipeline(tmp_path, moto_server, conn.bucket)
    write_config(p, "{type: duckdb, path: state/catalog.duckdb}")
    return p


@pytest.fixture(params=["duckdb", "postgres"])
def sql_target(request, tmp_path):
    """A fresh catalog target: a DuckDB file, or a new schema of the test PostgreSQL server."""
    if request.param == "duckdb":
        from s3_pipelines.targets.duckdb_target import DuckDBTarget

        yield DuckDBTarget(tmp_path / "catalog.duckdb")
        return
    yield from _pg_target(request.getfixturevalue("pg_url"))


def _pg_target(url: str):
    import uuid

    import psycopg

    from s3_pipelines.targets.postgres_target import PostgresTarget

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield PostgresTarget(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_target(pg_url):
    yield from _pg_target(pg_url)
