"""A pipelines file with destinations and syncs on a fresh bucket of the moto server."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import boto3
import dagster as dg
import pytest

from s3_pipelines.config import load_config
from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.dagster_defs import build_definitions

KEY_ENV, SECRET_ENV = "S3P_TEST_KEY_ID", "S3P_TEST_SECRET"
TODAY = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


class Setup:
    def __init__(self, root: Path, server, bucket: str):
        self.root, self.server, self.bucket = root, server, bucket
        self.config = root / "pipelines.yaml"
        self.s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)

    def write(self, body: str) -> None:
        self.config.write_text(textwrap.dedent(f"""
            connections:
              lake:
                type: s3
                bucket: {self.bucket}
                endpoint_url: {self.server.endpoint_url}
                region: us-east-1
                auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: {KEY_ENV}}}, aws_secret_access_key: {{env: {SECRET_ENV}}}}}
              catalog: {{type: duckdb, path: state/catalog.duckdb}}
        """) + textwrap.dedent(body))

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        out, kw = [], {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            resp = self.s3.list_objects_v2(**kw)
            out += [c["Key"] for c in resp.get("Contents", [])]
            if not resp.get("IsTruncated"):
                return out
            kw["ContinuationToken"] = resp["NextContinuationToken"]

    def defs(self) -> dg.Definitions:
        return build_definitions(load_config(self.config))

    def run(self, job: str, partition_key, instance=None, defs=None):
        defs = defs or self.defs()
        result = defs.resolve_job_def(job).execute_in_process(
            partition_key=partition_key, instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def client(self) -> S3Client:
        return S3Client.from_config(load_config(self.config).s3_connection("lake"))


@pytest.fixture
def setup(tmp_path, moto_server, new_bucket, monkeypatch) -> Setup:
    conn = new_bucket(moto_server)
    monkeypatch.setenv(KEY_ENV, moto_server.access_key)
    monkeypatch.setenv(SECRET_ENV, moto_server.secret_key)
    return Setup(tmp_path, moto_server, conn.bucket)
