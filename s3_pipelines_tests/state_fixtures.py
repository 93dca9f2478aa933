"""`state_db`: one state database per test, SQLite file or a fresh PostgreSQL schema (dropped
afterwards), so the ledger's tests run against both backends. Import it into a test module."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from s3_pipelines.ledger import Ledger


@dataclass
class StateTarget:
    backend: str
    target: str  # a file path or a postgresql:// URL
    schema: str | None = None

    def ledger(self) -> Ledger:
        return Ledger(self.target, schema=self.schema)


def pg_url_or_skip() -> str:
    url = os.environ.get("S3_PIPELINES_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL tests need S3_PIPELINES_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def state_db(request, tmp_path):
    if request.param == "sqlite":
        yield StateTarget("sqlite", str(tmp_path / "l.sqlite"))
        return
    url = pg_url_or_skip()
    schema = f"s3p_test_{uuid.uuid4().hex[:10]}"
    yield StateTarget("postgres", url, schema)
    drop_schema(url, schema)
