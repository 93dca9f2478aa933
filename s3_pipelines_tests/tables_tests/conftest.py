"""Tables on a real local S3 server (moto): objects are put in a fresh bucket, listed, read and
staged by the engine's own ingest path, then loaded into a DuckDB file or a PostgreSQL schema."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from s3_pipelines import ingest
from s3_pipelines.config.models import DuckDBConnectionConfig, PipelinesConfig, PostgresConnectionConfig
from s3_pipelines.config.tables import source_stream_name
from s3_pipelines.connections import S3Client
from s3_pipelines.ledger import Ledger
from s3_pipelines.staging import StagingStore
from s3_pipelines.tables import load_partition, plan_for
from s3_pipelines.targets import open_target


def ndjson_gz(records: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())


class Lake:
    """One bucket, one ledger and staging area, one target: put objects, then `load(table)`."""

    def __init__(self, conn, target_conn, root: Path):
        self.conn, self.target_conn, self.root = conn, target_conn, root
        self.client = S3Client.from_config(conn)
        self.ledger = Ledger(root / "ledger.sqlite")
        self.staging = StagingStore(root / "staging")
        self.cfg: PipelinesConfig | None = None

    def put(self, key: str, body: bytes) -> str:
        return self.client.put_bytes(key, body)

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def configure(self, tables: dict, streams: dict | None = None) -> PipelinesConfig:
        self.cfg = PipelinesConfig.model_validate({
            "connections": {"lake": self.conn, "catalog": self.target_conn},
            "streams": streams or {}, "tables": tables, "state": {"ledger_path": str(self.root / "ledger.sqlite")},
        })
        self.cfg.source_path = self.root / "pipelines.yaml"
        return self.cfg

    @property
    def target(self):
        return open_target(self.cfg, "catalog")

    def ingest(self, stream: str) -> list[str]:
        """List the stream's objects and stage the new ones (what a stream's records asset does)."""
        sc = self.cfg.streams[stream]
        ingest.discover_all(self.client, stream, sc, self.ledger, None)
        parts = self.ledger.pending_partitions(stream)
        for p in parts:
            ingest.load_partition(self.client, stream, sc, p, self.staging, self.ledger, "test-run")
        return parts

    def load(self, table: str, partition: str | None = None):
        """Ingest the table's stream, then load the table from each partition (or the one given)."""
        t = self.cfg.tables[table]
        stream = source_stream_name(table, t)
        self.ingest(stream)
        plan = plan_for(self.cfg, table)
        reports = []
        for p in [partition] if partition else sorted({r.partition_key for r in self.ledger.rows(stream)}):
            reports.append(load_partition(table, t, plan, self.target, self.ledger, self.staging, stream, p, "test-run"))
        return reports[-1] if reports else None

    def rows(self, table: str, order: str) -> list[dict]:
        with self.target.transaction() as tx:
            return tx.query_arrow(f'SELECT * FROM "{table}" ORDER BY {order}').to_pylist()

    def arrow(self, table: str) -> pa.Table:
        with self.target.transaction() as tx:
            return tx.query_arrow(f'SELECT * FROM "{table}"')


@pytest.fixture(params=["duckdb", "postgres"])
def target_conn(request, tmp_path):
    """A DuckDB file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "duckdb":
        yield DuckDBConnectionConfig(type="duckdb", path=str(tmp_path / "catalog.duckdb"))
        return
    url = request.getfixturevalue("pg_url")
    schema = f"tables_{uuid.uuid4().hex[:10]}"
    yield PostgresConnectionConfig.model_validate({"type": "postgres", "url": url, "schema": schema})
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def lake(moto_server, new_bucket, target_conn, tmp_path) -> Lake:
    return Lake(new_bucket(moto_server), target_conn, tmp_path)


@pytest.fixture
def duck_lake(moto_server, new_bucket, tmp_path) -> Lake:
    return Lake(new_bucket(moto_server), DuckDBConnectionConfig(type="duckdb", path=str(tmp_path / "catalog.duckdb")),
                tmp_path)
