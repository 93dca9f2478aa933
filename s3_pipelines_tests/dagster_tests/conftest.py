"""A pipelines file on a fresh bucket of a real local S3 server, with sample objects uploaded."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import boto3
import pytest

from s3_pipelines.config import load_config
from s3_pipelines.demo.sample_data import airbyte_key, jsonl_gz, orders_csv

KEY_ENV, SECRET_ENV = "S3P_TEST_KEY_ID", "S3P_TEST_SECRET"


class Pipeline:
    def __init__(self, root: Path, server, bucket: str):
        self.root, self.server, self.bucket = root, server, bucket
        self.config = root / "pipelines.yaml"
        self.s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)

    def put(self, key: str, body: bytes):
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def delete(self, key: str):
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def load(self):
        return load_config(self.config)

    @property
    def env(self) -> dict:
        """What the README tells a user to set: the config, and a DAGSTER_HOME holding dagster.yaml."""
        home = self.root / "dagster_home"
        if not home.exists():
            home.mkdir()
            shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
        return {"S3_PIPELINES_CONFIG": str(self.config), "DAGSTER_HOME": str(home)}


def users(n: int, start: int = 0) -> list[dict]:
    return [{"_airbyte_raw_id": f"r{i}", "_airbyte_extracted_at": "2026-11-20T09:00:00.000Z",
             "_airbyte_meta": {"changes": []}, "id": f"U{i:05d}", "name": f"user{i}", "is_admin": i % 3 == 0}
            for i in range(start, start + n)]


def user_key(epoch: int) -> str:
    return airbyte_key("users", dt.datetime.fromtimestamp(epoch, dt.timezone.utc))


@pytest.fixture(params=["moto", "rclone"])
def pipeline(request, tmp_path, new_bucket, monkeypatch) -> Pipeline:
    """The same pipeline on each S3 implementation (moto server; rclone serve s3, which checks keys)."""
    server = request.getfixturevalue(f"{request.param}_server")
    conn = new_bucket(server)
    monkeypatch.setenv(KEY_ENV, server.access_key)
    monkeypatch.setenv(SECRET_ENV, server.secret_key)
    p = Pipeline(tmp_path, server, conn.bucket)
    p.config.write_text(textwrap.dedent(f"""
        connections:
          lake:
            type: s3
            bucket: {conn.bucket}
            endpoint_url: {server.endpoint_url}
            region: us-east-1
            auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: {KEY_ENV}}}, aws_secret_access_key: {{env: {SECRET_ENV}}}}}
          catalog: {{type: duckdb, path: state/catalog.duckdb}}
        streams:
          users:
            connection: lake
            description: Slack users from Airbyte
            select: {{prefixes: ["data/wSLvwtI1LFwQzXXX/users/"]}}
            format: jsonl
            envelope: airbyte
            listing: {{mode: start_after}}
          orders:
            connection: lake
            select: {{pattern: "exports/**.csv"}}
            format: csv
            schema: [{{name: order_id, type: long}}, {{name: customer, type: string}}, {{name: amount, type: double}},
                     {{name: status, type: string}}, {{name: note, type: string}}]
    """))
    p.put(user_key(1_763_629_200), jsonl_gz(users(30)))
    p.put(user_key(1_763_632_800), jsonl_gz(users(20, 30)))
    import random
    p.put("exports/2026/orders.csv", orders_csv(40, random.Random(1), bad_rows=1))
    return p
