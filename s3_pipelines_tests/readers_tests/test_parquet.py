import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_pipelines.objects import ObjectError

from .helpers import col, data_rows, read_batches_of, read_bytes


def parquet_bytes(tmp_path, table: pa.Table, **kw) -> bytes:
    path = tmp_path / "src.parquet"
    pq.write_table(table, path, **kw)
    return path.read_bytes()


def test_rows_nested_types_and_ordinals(tmp_path):
    table = pa.table({"i": list(range(10)), "s": [{"x": i} for i in range(10)]})
    batches, bad = read_batches_of(tmp_path, "a.parquet", parquet_bytes(tmp_path, table, row_group_size=4), batch_rows=3)
    assert bad == [] and max(b.num_rows for b in batches) <= 3
    t = pa.Table.from_batches(batches)
    assert col(t, "i") == list(range(10)) and col(t, "s")[9] == {"x": 9}
    assert col(t, "_s3_row") == list(range(1, 11)) and t.column("_s3_line").null_count == 10


def test_par1_magic_recognised_without_extension(tmp_path):
    t, _ = read_bytes(tmp_path, "export/part-0000", parquet_bytes(tmp_path, pa.table({"a": [1, 2]})))
    assert data_rows(t) == [{"a": 1}, {"a": 2}]


def test_corrupt_parquet_is_an_object_error_naming_the_key(tmp_path):
    with pytest.raises(ObjectError, match="not a valid Parquet file") as e:
        read_bytes(tmp_path, "a.parquet", b"a,b\n1,2\n" * 10)
    assert e.value.key == "a.parquet"
    good = parquet_bytes(tmp_path, pa.table({"a": list(range(100))}))
    with pytest.raises(ObjectError):
        read_bytes(tmp_path, "b.parquet", good[:-20])


def test_empty_parquet_object_yields_nothing(tmp_path):
    assert read_bytes(tmp_path, "a.parquet", b"") == (None, [])


def test_compressed_parquet_is_refused_clearly(tmp_path):
    with pytest.raises(ObjectError, match="compressed Parquet"):
        read_bytes(tmp_path, "a.parquet.gz", gzip.compress(parquet_bytes(tmp_path, pa.table({"a": [1]}))))
