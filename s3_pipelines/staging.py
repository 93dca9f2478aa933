"""Staging: parsed records of each object version as Parquet files, local or under an S3 prefix.

Files are named from a hash of (key, etag), so a retried or re-run load writes the same names and
never duplicates; a later version of a key replaces the earlier version's files. A file is written
to a temporary name and renamed (local) or uploaded whole (S3), so readers never see half a file.
When batch schemas of one object differ in a way a cast cannot bridge, a new part file starts;
readers of a partition combine files by column name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .objects import S3Object
from .readers.records import RECORD_COLUMN, TEXT_AT_KEY, is_json_text


def object_file_stem(obj: S3Object) -> str:
    """Safe file name for an object version, whatever characters its key holds (no `../` escape)."""
    return hashlib.sha256(f"{obj.bucket}\0{obj.key}\0{obj.etag}".encode()).hexdigest()[:32]


def safe_segment(name: str) -> str:
    """Stream and partition names become one path segment each (they come from config/Dagster)."""
    cleaned = "".join(c if c.isalnum() or c in "-_:." else "_" for c in name)
    if cleaned in ("", ".", ".."):
        raise ValueError(f"unusable path segment {name!r}")
    return cleaned.replace(":", "")


@dataclass
class StagedObject:
    files: list[str]
    rows: int
    bytes_written: int
    preview: pa.Table | None  # first rows, for asset metadata


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch | None:
    """The batch in the writer's schema, or None when it would lose columns or fail a cast."""
    if set(batch.schema.names) - set(schema.names):
        return None
    cols = []
    for field in schema:
        idx = batch.schema.get_field_index(field.name)
        if idx >= 0 and is_json_text(batch.schema.field(idx)) != is_json_text(field):
            return None  # JSON text and plain values in one column would be misread: a new part

        col = batch.column(idx) if idx >= 0 else pa.nulls(batch.num_rows, field.type)
        if not col.type.equals(field.type):
            try:
                col = col.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return None
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=schema)


ROW_GROUP_ROWS = 65_536  # a reader's batches are a few thousand rows; one row group each cost 10 % more to write and read


# Dictionary pages stop at 64 KB: a column with few values still gets one, and a column of mostly
# distinct values (timestamps, ids) falls back to plain pages early instead of hashing every value
# first (1M records of the tables bench: write 0.43 -> 0.28 s CPU, 20.9 -> 14.9 MB). The row
# provenance and the record text are distinct per row: never a dictionary, row and line numbers
# delta-encoded (0.28 -> 0.24 s, 12.5 MB).
DICTIONARY_PAGE_BYTES = 64 << 10
_UNIQUE_INTS, _UNIQUE = ("_s3_row", "_s3_line"), ("_s3_row", "_s3_line", RECORD_COLUMN)


def _write_options(schema: pa.Schema) -> dict:
    opts = {"compression": "zstd", "dictionary_pagesize_limit": DICTIONARY_PAGE_BYTES}
    if not any(pa.types.is_nested(f.type) for f in schema):  # column paths are the names
        opts["use_dictionary"] = [f.name for f in schema if f.name not in _UNIQUE]
        opts["column_encoding"] = {f.name: "DELTA_BINARY_PACKED" for f in schema
                                   if f.name in _UNIQUE_INTS and pa.types.is_int64(f.type)}
    return opts


class _PartWriter:
    """Writes batches of one object version into numbered Parquet part files in `folder`.

    A row group is encoded and compressed on a thread of its own while the reader parses the next
    (both release the GIL; on two cores the write no longer adds to the read). At most one row group
    is being written while the next fills: memory stays two row groups."""

    def __init__(self, folder: Path, stem: str):
        self.folder, self.stem = folder, stem
        self.parts: list[Path] = []  # finished temp files
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
        self._pending: list[pa.RecordBatch] = []  # the next row group
        self._rows = 0
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is not None:
            conformed = _conform(batch, self._writer.schema)
            if conformed is None:
                self._close_part()
            else:
                batch = conformed
        if self._writer is None:
            fd, name = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".parquet")
            os.close(fd)
            self._tmp = Path(name)
            self._writer = pq.ParquetWriter(self._tmp, batch.schema, **_write_options(batch.schema))
        self._pending.append(batch)
        self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table, rows = pa.Table.from_batches(self._pending), max(self._rows, 1)
            self._pending, self._rows = [], 0
            self._wait()  # one row group in flight; its error surfaces here
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3p-stage")
            self._inflight = self._pool.submit(self._writer.write_table, table, row_group_size=rows)

    def _wait(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def _close_part(self) -> None:
        if self._writer is not None:
            self._flush()
            self._wait()
            self._writer.close()
            self.parts.append(self._tmp)
            self._writer = self._tmp = None

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def finish(self) -> list[Path]:
        try:
            self._close_part()
        finally:
            self._stop_pool()
        return self.parts

    def abort(self) -> None:
        self._pending, self._rows = [], 0
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the part is being thrown away
            pass
        self._stop_pool()
        if self._writer is not None:
            self._writer.close()
            self.parts.append(self._tmp)
            self._writer = None
        for p in self.parts:
            p.unlink(missing_ok=True)
        self.parts = []


class StagingStore:
    """Local folder (`root`) or, with `s3_client`, the S3 prefix `prefix` (files are built in a
    local temp folder first)."""

    def __init__(self, root: str | Path | None = None, *, s3_client=None, prefix: str = "staging/"):
        self.s3 = s3_client
        self.prefix = prefix if not s3_client else s3_client.prefix + prefix.lstrip("/")
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "s3_pipelines_staging"
        if not s3_client:  # S3 staging builds files in a temp folder of their own, removed after upload
            self.root.mkdir(parents=True, exist_ok=True)

    def location(self, stream: str, partition: str) -> str:
        rel = f"{safe_segment(stream)}/{safe_segment(partition)}"
        if self.s3:
            return f"s3://{self.s3.bucket}/{self.prefix}{rel}/"
        return str(self.root / rel)

    def write(self, stream: str, partition: str, obj: S3Object, batches: Iterable[pa.RecordBatch],
              preview_rows: int = 10) -> StagedObject:
        folder = self.root / safe_segment(stream) / safe_segment(partition)
        if self.s3:  # build locally, upload whole
            folder = Path(tempfile.mkdtemp(prefix="s3p-stage-"))
        folder.mkdir(parents=True, exist_ok=True)
        stem = object_file_stem(obj)
        writer = _PartWriter(folder, stem)
        rows, preview = 0, []
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                writer.write(batch)
                if rows < preview_rows:
                    preview.append(batch.slice(0, preview_rows - rows))
                rows += batch.num_rows
            parts = writer.finish()
        except BaseException:
            writer.abort()
            raise
        files, size = [], 0
        for i, tmp in enumerate(parts):
            name = f"{stem}-{i:04d}.parquet"
            size += tmp.stat().st_size
            if self.s3:
                key = f"{self.prefix}{safe_segment(stream)}/{safe_segment(partition)}/{name}"
                self.s3.upload_file(str(tmp), key)
                tmp.unlink()
                files.append(f"s3://{self.s3.bucket}/{key}")
            else:
                final = folder / name
                os.replace(tmp, final)
                files.append(str(final))
        if self.s3:
            folder.rmdir()
        return StagedObject(files=files, rows=rows, bytes_written=size, preview=_preview(preview))

    def remove(self, files: Iterable[str]) -> None:
        for f in files:
            if f.startswith("s3://"):
                if self.s3:
                    self.s3.delete(f.split("/", 3)[3])
            else:
                path = Path(f).resolve()
                if self.root.resolve() in path.parents:  # never outside the staging root
                    path.unlink(missing_ok=True)

    def _open(self, f: str) -> pq.ParquetFile:
        if f.startswith("s3://"):
            key = f.split("/", 3)[3]
            head = self.s3.head(key)
            if head is None:
                raise FileNotFoundError(f"staged file {f} is missing")
            return pq.ParquetFile(self.s3.open_random_access(head))
        return pq.ParquetFile(f)

    def read_batches(self, files: Iterable[str], batch_size: int = 65536,
                     skip_text: Callable[[pa.Schema], bool] | None = None) -> Iterator[pa.RecordBatch]:
        """Record batches of staged files, streamed (downstream assets read an object's records
        from here, never re-parsing the source). `skip_text(schema)` true: a file's batches come
        without `_s3_record` (most of a file's bytes), marked so that `with_record_text` can add
        it back to one that needs it after all."""
        for f in files:
            pf = self._open(f)
            schema = pf.schema_arrow
            if skip_text is None or RECORD_COLUMN not in schema.names \
                    or not skip_text(pa.schema([fld for fld in schema if fld.name != RECORD_COLUMN])):
                yield from pf.iter_batches(batch_size=batch_size)
                continue
            offset = 0
            for b in pf.iter_batches(batch_size=batch_size, columns=[n for n in schema.names if n != RECORD_COLUMN]):
                yield b.replace_schema_metadata({**(b.schema.metadata or {}), TEXT_AT_KEY: json.dumps([f, offset])})
                offset += b.num_rows

    def with_record_text(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """A batch read without `_s3_record` (read_batches' `skip_text`), with it."""
        meta = dict(batch.schema.metadata)
        f, offset = json.loads(meta.pop(TEXT_AT_KEY))
        pf = self._open(f)
        groups, start, first = [], 0, None
        for i in range(pf.metadata.num_row_groups):  # the row groups holding rows offset .. offset + n
            rows = pf.metadata.row_group(i).num_rows
            if start < offset + batch.num_rows and start + rows > offset:
                groups.append(i)
                first = start if first is None else first
            start += rows
        texts = pf.read_row_groups(groups, columns=[RECORD_COLUMN]).column(0)
        texts = texts.slice(offset - (first or 0), batch.num_rows).combine_chunks()
        field = pf.schema_arrow.field(RECORD_COLUMN)
        return batch.append_column(field, texts).replace_schema_metadata(meta or None)

    def files(self, stream: str, partition: str) -> Iterator[str]:
        """Staged files of one partition (local staging only; S3 staging is listed by callers)."""
        folder = self.root / safe_segment(stream) / safe_segment(partition)
        if folder.is_dir():
            yield from sorted(str(p) for p in folder.glob("*.parquet") if not p.name.startswith(".tmp-"))


def _preview(batches: list[pa.RecordBatch]) -> pa.Table | None:
    if not batches:
        return None
    try:
        return pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.Table.from_batches(batches[:1])
