import gzip

import pyarrow as pa
import pyarrow.feather as feather
import pytest

from s3_pipelines.objects import ObjectError
from s3_pipelines.readers import detect_format

from .helpers import col, data_rows, read_batches_of, read_bytes

TABLE = pa.table({"i": list(range(10)), "s": [{"x": i} for i in range(10)], "t": [f"v{i % 3}" for i in range(10)]})


def ipc_file(table: pa.Table, **kw) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, **kw) as w:
        for batch in table.to_batches(max_chunksize=4):
            w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def ipc_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table, max_chunksize=4)
    return sink.getvalue().to_pybytes()


def feather_bytes(tmp_path, table: pa.Table, **kw) -> bytes:
    path = tmp_path / "src.feather"
    feather.write_feather(table, path, **kw)
    return path.read_bytes()


@pytest.mark.parametrize("key", ["a.arrow", "a.feather", "a.IPC"])
def test_suffixes_name_the_format(key):
    assert detect_format(key) == "arrow"


def test_file_format_rows_nested_types_and_ordinals(tmp_path):
    batches, bad = read_batches_of(tmp_path, "a.arrow", ipc_file(TABLE), batch_rows=3)
    assert bad == [] and max(b.num_rows for b in batches) <= 3
    t = pa.Table.from_batches(batches)
    assert col(t, "i") == list(range(10)) and col(t, "s")[9] == {"x": 9}
    assert col(t, "_s3_row") == list(range(1, 11)) and t.column("_s3_line").null_count == 10


@pytest.mark.parametrize("compression", ["lz4", "zstd", "uncompressed"])
def test_feather_with_compressed_buffers_and_dictionaries(tmp_path, compression):
    table = TABLE.set_column(2, "t", TABLE.column("t").dictionary_encode())
    t, bad = read_bytes(tmp_path, "a.feather", feather_bytes(tmp_path, table, compression=compression, chunksize=4))
    assert bad == [] and data_rows(t) == TABLE.to_pylist()
    assert t.schema.field("t").type == pa.string()


def test_stream_format_and_magic_without_extension(tmp_path):
    t, _ = read_bytes(tmp_path, "a.ipc", ipc_stream(TABLE))
    assert data_rows(t) == TABLE.to_pylist()
    t, _ = read_bytes(tmp_path, "export/part-0000", ipc_file(TABLE))  # ARROW1 magic
    assert data_rows(t) == TABLE.to_pylist()


def test_corrupt_empty_and_compressed_objects(tmp_path):
    with pytest.raises(ObjectError, match="not a valid Arrow IPC file") as e:
        read_bytes(tmp_path, "a.arrow", b"a,b\n1,2\n" * 10)
    assert e.value.key == "a.arrow"
    with pytest.raises(ObjectError):
        read_bytes(tmp_path, "b.arrow", ipc_file(TABLE)[:-40])
    assert read_bytes(tmp_path, "c.arrow", b"") == (None, [])
    with pytest.raises(ObjectError, match="compressed Arrow IPC objects are not supported"):
        read_bytes(tmp_path, "d.arrow.gz", gzip.compress(ipc_file(TABLE)))


def test_arrow_as_a_stream_format(tmp_path):
    t, _ = read_bytes(tmp_path, "x.bin", ipc_file(TABLE), format="arrow")
    assert col(t, "i") == list(range(10))
