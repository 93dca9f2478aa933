"""The SQL-target registry: one entry per target, opened from its connection, and the only place
that knows which connection types are SQL targets."""

import pytest

from s3_pipelines.config.connections import CONNECTION_TYPES
from s3_pipelines.config.models import PipelinesConfig
from s3_pipelines.targets import TARGETS, SqlTarget, is_sql_target, open_target, sql_connections, target_types
from s3_pipelines.targets.duckdb_target import DuckDBTarget


def config(tmp_path) -> PipelinesConfig:
    cfg = PipelinesConfig.model_validate({"connections": {
        "lake": {"type": "s3", "bucket": "lake-bucket"},
        "catalog": {"type": "duckdb", "path": "state/catalog.duckdb"},
        "pg": {"type": "postgres", "url": "postgresql://u@127.0.0.1/db"},
    }})
    cfg.source_path = tmp_path / "pipelines.yaml"
    return cfg


def test_every_target_serves_a_registered_connection_type():
    assert set(TARGETS) == {"duckdb", "postgres"}
    for kind, cls in TARGETS.items():
        assert issubclass(cls, SqlTarget) and cls.type == kind
        assert cls.single_writer == (kind == "duckdb")
        assert kind in CONNECTION_TYPES
    assert "s3" in CONNECTION_TYPES and "s3" not in TARGETS
    assert target_types() == "duckdb/postgres"


def test_sql_connections_from_models_and_from_file_data(tmp_path):
    cfg = config(tmp_path)
    assert sql_connections(cfg.connections) == ["catalog", "pg"]
    assert sql_connections({"a": {"type": "duckdb"}, "b": {"type": "s3"}, "c": "junk"}) == ["a"]
    assert not is_sql_target(cfg.connections["lake"]) and is_sql_target(cfg.connections["pg"])


def test_open_target_by_connection_type(tmp_path):
    cfg = config(tmp_path)
    target = open_target(cfg, "catalog")
    assert isinstance(target, DuckDBTarget) and target.name == "catalog"
    assert target.path == tmp_path / "state" / "catalog.duckdb"
    with pytest.raises(ValueError, match="'lake' is not a duckdb/postgres connection"):
        open_target(cfg, "lake")


def test_dialect_hooks_of_duckdb_are_no_ops(tmp_path):
    with DuckDBTarget(tmp_path / "t.duckdb").transaction() as tx:
        tx.lock_key("k")
        tx.lock_table("t")
        assert tx.unique_nulls_not_distinct() is False and tx.temp_table_suffix == ""


def test_dialect_hooks_of_postgres(pg_url):
    import uuid

    from s3_pipelines.targets.postgres_target import PostgresTarget

    target = PostgresTarget(pg_url, schema=f"t_{uuid.uuid4().hex[:10]}")
    with target.transaction() as tx:
        tx.execute("CREATE TABLE t (v BIGINT)")
        tx.lock_key("k")
        tx.lock_table("t")
        assert isinstance(tx.unique_nulls_not_distinct(), bool) and tx.temp_table_suffix == " ON COMMIT DROP"
        tx.execute(f"DROP SCHEMA {target.schema} CASCADE")
