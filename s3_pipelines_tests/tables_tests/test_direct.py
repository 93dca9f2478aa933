"""The rollup DuckDB computes straight from staged Parquet files (tables/direct.py) equals the batch
path's (evaluate.py) over the same files: groups, rows counted, parse exceptions and where they are;
and it steps aside when the staged types are not the declared ones."""

import random

import pyarrow as pa

from s3_pipelines.objects import S3Object
from s3_pipelines.staging import StagingStore
from s3_pipelines.tables.direct import rollup_files
from s3_pipelines.tables.evaluate import Evaluator

from .test_rollup import assert_same, pandas_rollup, plan, records, table_rows

TYPES = {"timestamp": pa.string(), "city": pa.string(), "session_length": pa.int64(), "score": pa.float64()}


def _stage(store: StagingStore, key: str, recs: list[dict], types: dict = TYPES) -> list[str]:
    n = len(recs)
    cols = {name: pa.array([r[name] for r in recs], t) for name, t in types.items()}
    cols |= {"_s3_bucket": pa.array(["b"] * n), "_s3_key": pa.array([key] * n), "_s3_etag": pa.array(["e"] * n),
             "_s3_row": pa.array(range(1, n + 1), pa.int64()), "_s3_line": pa.array(range(2, 2 * n + 2, 2), pa.int64())}
    table = pa.table(cols)
    obj = S3Object("b", key, "e", n, None)
    return store.write("s", "p", obj, table.to_batches(max_chunksize=97)).files


def _batch_path(store: StagingStore, files: list[str]) -> Evaluator:
    ev = Evaluator(plan())
    ev.result = ev.rollup(store.read_batches(files))
    return ev


def test_direct_rollup_equals_the_batch_path(tmp_path):
    store = StagingStore(tmp_path)
    rng = random.Random(5)
    recs = [records(rng, 700), records(rng, 0), records(rng, 450)]
    files = [f for i, r in enumerate(recs) for f in _stage(store, f"k{i}", r)]
    direct = Evaluator(plan())
    got = rollup_files(direct, files)
    assert got is not None
    batch = _batch_path(store, files)
    assert got.schema == batch.result.schema
    assert_same(table_rows(got), table_rows(batch.result))
    assert_same(table_rows(got), pandas_rollup(recs[0] + recs[2]))
    assert direct.rows_in == batch.rows_in == 1150 and direct.rows_skipped == batch.rows_skipped > 0
    assert direct.exceptions == batch.exceptions


def test_exceptions_kept_are_the_first_ones_and_the_count_is_exact(tmp_path):
    store = StagingStore(tmp_path)
    recs = [{"timestamp": "garbage", "city": "x", "session_length": 1, "score": 1.0}] * 150
    recs += [{"timestamp": "2024-05-01T00:00:00Z", "city": "x", "session_length": 1, "score": 1.0}]
    files = _stage(store, "k", recs)
    direct = Evaluator(plan())
    got = rollup_files(direct, files)
    assert got.num_rows == 1 and direct.rows_skipped == 150
    assert [(e.key, e.line) for e in direct.exceptions] == [("k", 2 * i) for i in range(1, 101)]


def test_staged_types_other_than_declared_take_the_batch_path(tmp_path):
    store = StagingStore(tmp_path)
    recs = records(random.Random(9), 50)
    files = _stage(store, "k", recs, {**TYPES, "session_length": pa.float64()})
    assert rollup_files(Evaluator(plan()), files) is None
    assert rollup_files(Evaluator(plan()), [f"s3://bucket/{f}" for f in files]) is None
