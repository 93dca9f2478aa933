import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_pipelines.config.models import Partitioning
from s3_pipelines.objects import ObjectError, S3Object
from s3_pipelines.partitions import partition_key, window
from s3_pipelines.staging import StagingStore, object_file_stem

T = dt.datetime(2026, 11, 20, 13, 45, tzinfo=dt.timezone.utc)


def test_partition_keys_match_dagster_formats_and_clamp():
    day, hour = Partitioning(granularity="day", start="2024-01-01"), Partitioning(granularity="hour", start="2024-01-01")
    assert partition_key(day, T) == "2026-11-20"
    assert partition_key(hour, T) == "2026-11-20-13:00"
    old = dt.datetime(2019, 5, 1, tzinfo=dt.timezone.utc)
    assert partition_key(day, old) == "2024-01-01"  # older objects fall into the first partition
    future = T + dt.timedelta(days=3)
    assert partition_key(day, future, now=T) == "2026-11-20"
    start, end = window(day, "2026-11-20")
    assert (start, end) == (dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc))
    assert window(day, "2024-01-01")[0].year == 1  # first window reaches back


def batches(*specs):
    for cols in specs:
        yield pa.RecordBatch.from_pydict(cols)


def test_write_is_atomic_named_by_version_and_rolls_parts_on_schema_change(tmp_path):
    store = StagingStore(tmp_path)
    o = S3Object("b", "../../etc/passwd weird ü key", "e1", 1, T)
    staged = store.write("s", "2026-11-20", o, batches(
        {"a": [1, 2], "b": ["x", "y"]},
        {"a": [3], "b": [None]},           # same schema after cast
        {"a": [4], "c": [{"n": 1}]},       # a new column: a new part file
    ))
    assert staged.rows == 4
    assert len(staged.files) == 2
    for f in staged.files:
        assert f.startswith(str(tmp_path / "s" / "2026-11-20")) and object_file_stem(o) in f
    assert pq.read_table(staged.files[0]).to_pydict() == {"a": [1, 2, 3], "b": ["x", "y", None]}
    assert pq.read_table(staged.files[1]).column("c").to_pylist() == [{"n": 1}]
    assert staged.preview.num_rows == 4 and "c" in staged.preview.column_names
    # same version again: same names, nothing duplicated
    again = store.write("s", "2026-11-20", o, batches({"a": [1, 2], "b": ["x", "y"]}))
    assert again.files[0] == staged.files[0]
    assert sorted(store.files("s", "2026-11-20")) == sorted(staged.files)


def test_failed_write_leaves_nothing(tmp_path):
    store = StagingStore(tmp_path)

    def broken():
        yield pa.RecordBatch.from_pydict({"a": [1]})
        raise ObjectError("k", "truncated gzip stream")

    with pytest.raises(ObjectError):
        store.write("s", "p", S3Object("b", "k", "e", 1, T), broken())
    assert list((tmp_path / "s" / "p").iterdir()) == []


def test_row_groups_written_in_the_background_keep_order_and_a_failure_leaves_nothing(tmp_path):
    """Row groups are encoded on a thread of their own while the next one fills (staging.py)."""
    from s3_pipelines.staging import ROW_GROUP_ROWS

    store = StagingStore(tmp_path)
    n = 4_000  # a reader's batch size, roughly

    def many(total, fail_at=None):
        for start in range(0, total, n):
            if fail_at is not None and start >= fail_at:
                raise ObjectError("k", "truncated gzip stream")
            yield pa.RecordBatch.from_pydict({"a": list(range(start, min(start + n, total)))})

    total = 3 * ROW_GROUP_ROWS + 123
    staged = store.write("s", "p", S3Object("b", "k", "e", 1, T), many(total))
    meta = pq.ParquetFile(staged.files[0]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(sizes) == 3 and min(sizes[:-1]) >= ROW_GROUP_ROWS and staged.rows == sum(sizes) == total
    assert pq.read_table(staged.files[0]).column("a").to_pylist() == list(range(total))

    with pytest.raises(ObjectError):  # after two row groups went to the writer's thread
        store.write("s", "q", S3Object("b", "k", "e2", 1, T), many(total, fail_at=2 * ROW_GROUP_ROWS + n))
    assert list((tmp_path / "s" / "q").iterdir()) == []


def test_remove_never_leaves_the_staging_root(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    store = StagingStore(tmp_path / "root")
    store.remove([str(outside), str(tmp_path / "root" / ".." / "outside.txt")])
    assert outside.exists()


def test_read_batches_returns_what_was_staged(tmp_path):
    store = StagingStore(tmp_path)
    staged = store.write("s", "p", S3Object("b", "k", "e", 1, T), batches({"a": [1, 2]}, {"a": [3], "z": ["n"]}))
    rows = [r for b in store.read_batches(staged.files) for r in b.to_pylist()]
    assert rows == [{"a": 1}, {"a": 2}, {"a": 3, "z": "n"}]


def test_json_text_columns_keep_their_values_through_staging(tmp_path):
    """An object whose `id` is plain text in one chunk and mixed (JSON text) in the next: the
    staged files keep the two apart, so a mapping reads back the values the object held."""
    from s3_pipelines.mapping import batch_records
    from s3_pipelines.readers import LocalFileSource, ReadOptions, read_batches
    from s3_pipelines.readers import jsonl

    src = tmp_path / "mixed.jsonl"
    first = b"".join(b'{"id": "u%d"}\n' % i for i in range(50))
    src.write_bytes(first + b'{"id": 7}\n{"id": "u\\"q"}\n{"id": 123456789012345678901234567890}\n')
    old, jsonl.CHUNK_BYTES = jsonl.CHUNK_BYTES, len(first)  # the mixed values arrive in a later chunk
    try:
        read = list(read_batches(LocalFileSource(src, key="mixed.jsonl"), None, ReadOptions(), lambda b: None))
    finally:
        jsonl.CHUNK_BYTES = old
    store = StagingStore(tmp_path / "stage")
    staged = store.write("s", "2026-11-20", S3Object("b", "mixed.jsonl", "e", 1, T), iter(read))
    assert len(staged.files) == 2  # plain and JSON-text columns never share a file
    records = [r for b in store.read_batches(staged.files) for r in batch_records(b)[0]]
    assert [r["id"] for r in records] == [f"u{i}" for i in range(50)] + [7, 'u"q', 123456789012345678901234567890]
