"""A pipelines file on a fresh bucket of the shared moto server, and the CLI run in-process."""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from s3_pipelines import cli


@dataclass
class Project:
    root: Path
    config: Path
    bucket: str
    s3: object  # boto3 client with the server's keys

    def cli(self, capsys, *args, code: int = 0):
        """(exit code, stdout, stderr) of `s3-pipelines ARGS --config FILE`; JSON parsed when asked."""
        capsys.readouterr()
        rc = cli.main([*args, "--config", str(self.config)])
        out, err = capsys.readouterr()
        assert rc == code, out + err
        return json.loads(out) if "--format" in args and "json" in args and rc == 0 else (out + err)


def write_config(root: Path, endpoint: str, bucket: str, extra: str = "", datasources: str = "") -> Path:
    path = root / "pipelines.yaml"
    path.write_text(textwrap.dedent(f"""\
        connections:
          lake:
            type: s3
            bucket: {bucket}
            endpoint_url: {endpoint}
            auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: DS_KEY}}, aws_secret_access_key: {{env: DS_SECRET}}}}
          other:
            type: s3
            bucket: {bucket}
            prefix: other/
            endpoint_url: {endpoint}
            auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: DS_KEY}}, aws_secret_access_key: {{env: DS_SECRET}}}}
          catalog: {{type: duckdb, path: state/catalog.duckdb}}
        """) + textwrap.dedent(datasources) + textwrap.dedent(extra))
    return path


@pytest.fixture
def project(moto_server, tmp_path, monkeypatch) -> Project:
    monkeypatch.setenv("DS_KEY", moto_server.access_key)
    monkeypatch.setenv("DS_SECRET", moto_server.secret_key)
    bucket = f"ds-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id=moto_server.access_key, aws_secret_access_key=moto_server.secret_key)
    s3.create_bucket(Bucket=bucket)
    for key in ("research/a.jsonl", "research/b/c.jsonl", "sales/2026/x.jsonl", "other/inner/y.jsonl"):
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"id": 1}\n{"id": 2}\n')
    config = write_config(tmp_path, moto_server.endpoint_url, bucket, extra=textwrap.dedent("""\
        streams:
          research_stream:
            connection: lake
            select: {datasource: research}
            format: jsonl
        """))
    monkeypatch.delenv("S3_PIPELINES_CONFIG", raising=False)
    os.environ.pop("S3_PIPELINES_CONFIG", None)
    return Project(tmp_path, config, bucket, s3)
