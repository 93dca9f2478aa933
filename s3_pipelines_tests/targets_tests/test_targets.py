import datetime as dt
import uuid

import pyarrow as pa
import pytest

from s3_pipelines.objects import S3Object
from s3_pipelines.targets.duckdb_target import DuckDBTarget
from s3_pipelines.targets.postgres_target import PostgresTarget

T = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["duckdb", "postgres"])
def target(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBTarget(tmp_path / "t.duckdb")
    url = request.getfixturevalue("pg_url")
    return PostgresTarget(url, schema=f"t_{uuid.uuid4().hex[:10]}")


def test_insert_arrow_query_and_columns(target):
    with target.transaction() as tx:
        tx.execute('CREATE TABLE items (id BIGINT, name TEXT, "we ird" DOUBLE PRECISION, meta JSON)')
        tx.insert_arrow("items", pa.table({"id": [1, 2], "name": ["a", "b, with comma\nand newline"],
                                           "we ird": [1.5, None], "meta": ['{"a": 1}', None]}))
    with target.transaction() as tx:
        rows = tx.execute("SELECT id, name, \"we ird\" FROM items WHERE id >= ? ORDER BY id", (1,))
        assert rows == [(1, "a", 1.5), (2, "b, with comma\nand newline", None)]
        assert list(tx.table_columns("items")) == ["id", "name", "we ird", "meta"]
        assert tx.table_columns("missing") is None
        assert tx.query_arrow("SELECT count(*) AS n FROM items").column("n").to_pylist() == [2]


def test_load_marks_commit_with_data_and_roll_back_with_it(target):
    o1, o2 = S3Object("b", "k", "e1", 1, T), S3Object("b", "k", "e2", 1, T)
    with target.transaction() as tx:
        tx.execute("CREATE TABLE t (v BIGINT)")
    with pytest.raises(RuntimeError):
        with target.transaction() as tx:
            tx.execute("INSERT INTO t VALUES (1)")
            tx.mark_loaded("m", o1, 1, "run")
            raise RuntimeError("crash between rows and commit")
    with target.transaction() as tx:
        assert tx.execute("SELECT count(*) FROM t") == [(0,)]
        assert not tx.is_loaded("m", o1)
        tx.mark_loaded("m", o1, 1, "run")
    with target.transaction() as tx:
        assert tx.is_loaded("m", o1) and not tx.is_loaded("m", o2) and not tx.is_loaded("other", o1)
        tx.mark_loaded("m", o2, 1, "run")
        assert tx.loaded_version("m", "b", "k") == "e2"
