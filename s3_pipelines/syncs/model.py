"""Model sync (Polytomic): a model read from one object, or from the csv / json / parquet files of a
zip or tar.gz archive, written to an S3 prefix in a format or to a catalog table. No Dagster here.

Archives are streamed, never unpacked to disk whole: a tar.gz is read forward from the GET stream,
member after member; a zip is read through ranged GETs (its directory is at the end), one member
at a time. A Parquet member, which needs random access, is spooled alone (memory, then a temporary
file past 64 MB).

S3 target: the day's model is one object under `<prefix><subfolder><sync>/<day>/`, published as a
generation (`syncs.publish`): re-running with the same model writes nothing, a changed model
replaces the day's output atomically. Catalog target: `mode` decides, in one transaction —
`replace` (the table becomes the model), `append`, `create` (rows of new keys only), `update`
(rows of existing keys only), `update_or_create` (both).
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

import pyarrow as pa

from ..config.sinks import ModelSource, ModelSyncConfig
from ..connections.s3 import S3Client
from ..objects import S3Object
from ..readers import ReadOptions, read_batches
from ..readers.options import CsvOptions
from ..readers.records import json_dumps
from ..selection import resolve_key
from ..sinks.s3 import CreateOnlyWriter, encode_window, get_format
from ..targets import SqlTarget, qident
from .bulk import _generation, join
from .publish import Published, publish, read_manifest

READER_FORMAT = {"csv": "csv", "json": "json", "jsonl": "jsonl", "parquet": "parquet"}
SUFFIXES = {"csv": (".csv", ".csv.gz"), "json": (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz"),
            "jsonl": (".jsonl", ".ndjson", ".json", ".jsonl.gz"), "parquet": (".parquet",)}
SPOOL = 64 * 2**20


@dataclass
class ModelReport:
    files: list[str] = field(default_factory=list)  # the object, or the archive members read
    rows: int = 0
    bad_records: int = 0
    published: Published | None = None  # S3 target
    table: str | None = None  # catalog target
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0


class _Member:
    """A reader source over one file: a forward stream, spooled when random access is asked for."""

    def __init__(self, name: str, opener: Callable[[], BinaryIO]):
        self.key, self._open = name, opener

    def open_stream(self) -> BinaryIO:
        return self._open()

    def open_random_access(self) -> BinaryIO:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
        with self._open() as f:
            while chunk := f.read(1 << 20):
                spool.write(chunk)
        spool.seek(0)
        return spool


class _S3Source:
    def __init__(self, client: S3Client, obj: S3Object):
        self.client, self.obj, self.key = client, obj, obj.key

    def open_stream(self):
        return self.client.open_stream(self.obj)

    def open_random_access(self):
        return self.client.open_random_access(self.obj)


def _options(src: ModelSource) -> ReadOptions:
    return ReadOptions(format=READER_FORMAT[src.file_format], on_error="skip_record",
                       csv=CsvOptions(has_headers=src.csv_has_headers, skip_lines=src.skip_lines))


def source_key(client: S3Client, src: ModelSource) -> str:
    return resolve_key(client.conn, join(src.subfolder) + src.key.lstrip("/"))


def archive_kind(key: str, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or key.endswith(".zip"):
        return "zip"
    if head.startswith(b"\x1f\x8b") or key.endswith((".tar.gz", ".tgz", ".tar")):
        return "tar"
    raise ValueError(f"{key}: not a zip or tar.gz archive")


def read_model(client: S3Client, src: ModelSource, report: ModelReport) -> Iterator[pa.RecordBatch]:
    key = source_key(client, src)
    obj = client.head(key)
    if obj is None:
        raise FileNotFoundError(f"model source s3://{client.bucket}/{key} does not exist")
    opts = _options(src)

    def bad(b) -> None:
        report.bad_records += 1

    if src.model_from == "single_file":
        report.files.append(key)
        yield from read_batches(_S3Source(client, obj), None, opts, bad)
        return
    head = client.get(obj, "bytes=0-3")["Body"].read()
    if archive_kind(key, head) == "zip":
        with zipfile.ZipFile(client.open_random_access(obj)) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.is_dir() or not _wanted(info.filename, src):
                    continue
                report.files.append(info.filename)
                yield from read_batches(_Member(info.filename, lambda i=info: z.open(i)), None, opts, bad)
        return
    with client.open_stream(obj) as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        for member in tar:  # forward only: members in archive order
            if not member.isfile() or not _wanted(member.name, src):
                continue
            report.files.append(member.name)
            f = tar.extractfile(member)
            yield from read_batches(_Member(member.name, lambda f=f: _Unclosed(f)), None, opts, bad)


class _Unclosed(io.RawIOBase):
    """A tar member's file, which the reader may close without closing the archive stream."""

    def __init__(self, f):
        self.f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.f.read(len(b))
        b[:len(data)] = data
        return len(data)


def _wanted(name: str, src: ModelSource) -> bool:
    base = posixpath.basename(name)
    return not base.startswith((".", "__MACOSX")) and name.lower().endswith(SUFFIXES[src.file_format])


# --- targets -------------------------------------------------------------------------------------


def write_s3(name: str, sync: ModelSyncConfig, client: S3Client, batches: list[pa.RecordBatch], day: str,
             report: ModelReport) -> None:
    fmt = get_format(sync.target.format)
    base = client.conn.prefix + join(sync.target.subfolder, name, day)
    content = encode_window(batches, fmt, False)
    try:
        gen = _generation("model", sync.mode, content.sha256)
        current = read_manifest(client, base)
        if current and current.get("generation") == gen:
            report.published = Published(base, gen, current["objects"], unchanged=True)
            return
        key = f"{base}{gen}/{name}{fmt.ext}"
        put = CreateOnlyWriter(client).put(key, content, fmt.content_type)
    finally:
        content.body.close()
    report.published = publish(client, base, gen, [{"key": key, "rows": report.rows, "bytes": content.size,
                                                    "etag": put.etag}],
                               {"mode": sync.mode, "format": fmt.name, "files": report.files})


def _sql_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    return "TEXT"


def model_table(batches: list[pa.RecordBatch]) -> pa.Table:
    """The model's data columns (provenance dropped), nested values as JSON text."""
    tables = []
    for b in batches:
        names = [n for n in b.schema.names if not n.startswith("_s3_")]
        tables.append(pa.Table.from_batches([b.select(names)]))
    if not tables:
        return pa.table({})
    t = pa.concat_tables(tables, promote_options="permissive")
    for i, f in enumerate(t.schema):
        if pa.types.is_nested(f.type) or pa.types.is_null(f.type):
            text = pa.array([None if v is None else json_dumps(v) for v in t.column(i).to_pylist()], pa.string())
            t = t.set_column(i, pa.field(f.name, pa.string()), text)
    return t


def write_table(sync: ModelSyncConfig, target: SqlTarget, batches: list[pa.RecordBatch], report: ModelReport) -> None:
    data = model_table(batches)
    table, pk = sync.target.table, sync.primary_key
    report.table = table
    missing = [c for c in pk if c not in data.column_names]
    if missing and data.num_rows:
        raise ValueError(f"primary_key column(s) {', '.join(missing)} are not in the model")
    stage = f"_s3p_model_{table}"
    with target.transaction() as tx:
        have = tx.table_columns(table)
        if have is None:
            cols = ", ".join(f"{qident(f.name)} {_sql_type(f.type)}" for f in data.schema)
            tx.execute(f"CREATE TABLE {qident(table)} ({cols})")
            have = {f.name: "" for f in data.schema}
        tx.lock_table(table)
        for f in data.schema:  # new columns of the model appear in the table
            if f.name not in have:
                tx.execute(f"ALTER TABLE {qident(table)} ADD COLUMN {qident(f.name)} {_sql_type(f.type)}")
        if not data.num_columns:
            return
        cols = ", ".join(f"{qident(f.name)} {_sql_type(f.type)}" for f in data.schema)
        tx.execute(f"DROP TABLE IF EXISTS {qident(stage)}")
        tx.execute(f"CREATE TEMP TABLE {qident(stage)} ({cols}){tx.temp_table_suffix}")
        tx.insert_arrow(stage, data)
        names = ", ".join(qident(c) for c in data.column_names)
        match = " AND ".join(f"t.{qident(c)} IS NOT DISTINCT FROM s.{qident(c)}" for c in pk)
        exists = f"EXISTS (SELECT 1 FROM {qident(table)} t WHERE {match})"
        count = lambda sql: tx.execute(f"SELECT count(*) FROM {qident(stage)} s WHERE {sql}")[0][0]  # noqa: E731
        if sync.mode == "replace":
            report.rows_deleted = tx.execute(f"SELECT count(*) FROM {qident(table)}")[0][0]
            tx.execute(f"DELETE FROM {qident(table)}")
        if sync.mode in ("update", "update_or_create"):
            report.rows_updated = count(exists)
            sets = ", ".join(f"{qident(c)} = s.{qident(c)}" for c in data.column_names if c not in pk)
            if sets:
                where = " AND ".join(f"{qident(table)}.{qident(c)} IS NOT DISTINCT FROM s.{qident(c)}" for c in pk)
                tx.execute(f"UPDATE {qident(table)} SET {sets} FROM {qident(stage)} s WHERE {where}")
        if sync.mode in ("create", "update_or_create"):
            report.rows_inserted = count(f"NOT {exists}")
            tx.execute(f"INSERT INTO {qident(table)} ({names}) SELECT {names} FROM {qident(stage)} s WHERE NOT {exists}")
        elif sync.mode in ("replace", "append"):
            report.rows_inserted = data.num_rows
            tx.execute(f"INSERT INTO {qident(table)} ({names}) SELECT {names} FROM {qident(stage)}")
        tx.execute(f"DROP TABLE IF EXISTS {qident(stage)}")


def run_model_sync(name: str, sync: ModelSyncConfig, source: S3Client, day: str, *,
                   s3_target: S3Client | None = None, sql_target: SqlTarget | None = None,
                   log: Callable[[str], None] = lambda m: None) -> ModelReport:
    report = ModelReport()
    batches = [b for b in read_model(source, sync.source, report) if b.num_rows]
    report.rows = sum(b.num_rows for b in batches)
    if s3_target is not None:
        write_s3(name, sync, s3_target, batches, day, report)
        p = report.published
        log(f"{name} {day}: {report.rows} row(s) from {len(report.files)} file(s) -> "
            f"{'unchanged' if p.unchanged else 'generation ' + p.generation} at s3://{s3_target.bucket}/{p.base}")
    else:
        write_table(sync, sql_target, batches, report)
        log(f"{name} {day}: {report.rows} row(s) from {len(report.files)} file(s) -> table {report.table} "
            f"({sync.mode}: {report.rows_inserted} inserted, {report.rows_updated} updated, {report.rows_deleted} deleted)")
    return report
