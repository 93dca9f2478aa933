"""Bulk sync (Polytomic): one stream's objects of one day, copied from the source connection to
`<destination prefix><subfolder>/<stream>/<day>/` in the sync's format. No Dagster here.

The day's objects are those of the stream's selection whose LastModified falls in the day (UTC).
Their records become one object (one window: schema drift — a column that appears in some objects
only — widens that object, never splits it), published atomically as a new generation
(`syncs.publish`):

- `snapshot`: the partition's output is the day's records, replacing what was there;
- `replicate`: the day's records merged by primary key with the partition's previous output: the
  last record of a key wins, and a key whose records are gone from the source is kept with the time
  it was first missed in `_deleted_at` (null for live rows).

When nothing needs converting (snapshot, the source objects already in the target format, one
store and one set of credentials), the objects are copied inside S3 (CopyObject) instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

import pyarrow as pa

from .. import selection
from ..config.models import StreamConfig
from ..config.sinks import BulkSyncConfig
from ..connections.s3 import S3Client
from ..ingest import S3ObjectSource, read_options
from ..objects import S3Object
from ..readers import detect_format, read_batches
from ..sinks.s3 import CreateOnlyWriter, encode_window, get_format
from ..sinks.s3.feed import records_batch
from ..sinks.s3.formats._rows import records
from .publish import Published, publish, read_manifest

DELETED_AT = "_deleted_at"
READ_THREADS = 8
COPY_OBJECT_LIMIT = 5 * 10**9  # S3's limit of one CopyObject


@dataclass
class BulkReport:
    stream: str
    day: str
    mode: str
    method: str  # "copy" (server-side) | "convert"
    objects_read: int = 0
    bytes_read: int = 0
    rows: int = 0
    rows_deleted: int = 0  # replicate: rows marked _deleted_at (newly or before)
    bytes_written: int = 0
    published: Published | None = None


def join(*parts: str) -> str:
    """Key prefix of parts, each ending in one `/` (empty parts left out)."""
    return "".join(p.strip("/") + "/" for p in parts if p and p.strip("/"))


def output_base(dst: S3Client, sync: BulkSyncConfig, stream: str, day: str) -> str:
    return dst.conn.prefix + join(sync.subfolder, stream, day)


def day_objects(src: S3Client, stream: StreamConfig, day: str, first_day: str | None = None) -> list[S3Object]:
    """The objects written on `day`; the sync's first day also takes every older one, as a stream's
    first partition does, else objects before the first day would never be copied."""
    start = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(days=1)
    if first_day is not None and day <= first_day:
        start = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    found = [o for o in selection.iter_selected(src, stream.select) if start <= o.last_modified < end]
    return sorted(found, key=lambda o: (o.last_modified, o.key))


def copyable(sync: BulkSyncConfig, stream: StreamConfig, objs: list[S3Object], src: S3Client, dst: S3Client) -> bool:
    """Whether the source bytes already are the target format, with nothing to merge or convert."""
    if sync.mode != "snapshot" or not sync.server_side_copy or not objs:
        return False
    if stream.envelope != "none" or stream.schema_ or (src.conn.endpoint_url, src.conn.auth) != (dst.conn.endpoint_url, dst.conn.auth):
        return False
    csv_plain = stream.csv.has_headers and not stream.csv.skip_lines and stream.csv.delimiter == ","
    for o in objs:
        fmt = detect_format(o.key) if stream.format == "auto" else stream.format
        gz = o.key.endswith(".gz") if stream.compression == "auto" else stream.compression == "gzip"
        as_target = {("jsonl", True): "ndjson.gz", ("jsonl", False): "json", ("parquet", False): "parquet",
                     ("csv", False): "csv" if csv_plain else None}.get((fmt, gz))
        if as_target != sync.format:
            return False
    return True


def sync_stream_day(sync: BulkSyncConfig, stream_name: str, stream: StreamConfig, day: str, src: S3Client,
                    dst: S3Client, log: Callable[[str], None] = lambda m: None,
                    now: dt.datetime | None = None, first_day: str | None = None) -> BulkReport:
    objs = day_objects(src, stream, day, first_day)
    base = output_base(dst, sync, stream_name, day)
    if copyable(sync, stream, objs, src, dst):
        report = BulkReport(stream_name, day, sync.mode, "copy")
        _copy(report, objs, base, src, dst, sync)
    else:
        report = BulkReport(stream_name, day, sync.mode, "convert")
        _convert(report, sync, stream_name, stream, objs, base, src, dst, now)
    report.objects_read, report.bytes_read = len(objs), sum(o.size for o in objs)
    p = report.published
    log(f"{stream_name} {day}: {len(objs)} object(s) -> {'unchanged' if p.unchanged else 'generation ' + p.generation}"
        f" ({report.method}, {report.rows} row(s)) at s3://{dst.bucket}/{base}")
    return report


def _generation(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _copy(report: BulkReport, objs: list[S3Object], base: str, src: S3Client, dst: S3Client,
          sync: BulkSyncConfig) -> None:
    gen = _generation("copy", sync.format, *(f"{o.bucket}/{o.key}@{o.etag}" for o in objs))
    current = read_manifest(dst, base)
    if current and current.get("generation") == gen:
        report.published = Published(base, gen, current["objects"], unchanged=True)
        return

    def one(item) -> dict:
        i, o = item
        key = f"{base}{gen}/{i:05d}-{posixpath.basename(o.key)}"
        source = {"Bucket": o.bucket, "Key": o.key}
        if o.size < COPY_OBJECT_LIMIT:  # one request
            dst.boto.copy_object(CopySource=source, Bucket=dst.bucket, Key=key, CopySourceIfMatch=f'"{o.etag}"')
        else:  # a multipart copy (UploadPartCopy)
            dst.boto.copy(source, dst.bucket, key)
        return {"key": key, "bytes": o.size, "source": f"s3://{o.bucket}/{o.key}", "source_etag": o.etag}

    with ThreadPoolExecutor(READ_THREADS) as pool:
        written = list(pool.map(one, enumerate(objs)))
    report.bytes_written = sum(w["bytes"] for w in written)
    report.published = publish(dst, base, gen, written, {"mode": sync.mode, "format": sync.format, "method": "copy"})


def _read_all(stream: StreamConfig, objs: list[S3Object], src: S3Client) -> list[list[pa.RecordBatch]]:
    """Each object's record batches, objects read in parallel, kept in order."""
    opts = read_options(stream)

    def one(o: S3Object) -> list[pa.RecordBatch]:
        return [b for b in read_batches(S3ObjectSource(src, o), o, opts, lambda bad: None) if b.num_rows]

    with ThreadPoolExecutor(READ_THREADS) as pool:
        return list(pool.map(one, objs))


def _convert(report: BulkReport, sync: BulkSyncConfig, stream_name: str, stream: StreamConfig,
             objs: list[S3Object], base: str, src: S3Client, dst: S3Client, now: dt.datetime | None) -> None:
    fmt = get_format(sync.format)
    batches = [b for per in _read_all(stream, objs, src) for b in per]
    current = read_manifest(dst, base)
    if sync.mode == "replicate":
        batches = _merge(report, batches, sync.primary_key.get(stream_name, []), current, dst, fmt, now)
    report.rows = sum(b.num_rows for b in batches)
    if not batches and not current:
        report.published = Published(base, "", [], unchanged=True)  # an empty day writes nothing
        return
    content = encode_window(batches, fmt, False)
    try:
        gen = _generation("convert", sync.mode, content.sha256)
        if current and current.get("generation") == gen:
            report.published = Published(base, gen, current["objects"], unchanged=True)
            return
        objects = []
        if batches:
            key = f"{base}{gen}/{stream_name}-{report.day}{fmt.ext}"
            put = CreateOnlyWriter(dst).put(key, content, fmt.content_type)
            objects.append({"key": key, "rows": report.rows, "bytes": content.size, "etag": put.etag})
            report.bytes_written = content.size
    finally:
        content.body.close()
    report.published = publish(dst, base, gen, objects, {"mode": sync.mode, "format": sync.format,
                                                         "method": "convert", "rows": report.rows})


def _pk(record: dict, columns: list[str]) -> str:
    return json.dumps([record.get(c) for c in columns], sort_keys=True, default=str)


def _merge(report: BulkReport, batches: Iterable[pa.RecordBatch], key: list[str], current: dict | None,
           dst: S3Client, fmt, now: dt.datetime | None) -> list[pa.RecordBatch]:
    """The day's records merged by `key` with the partition's previous output."""
    live: dict[str, dict] = {}
    for b in batches:
        for r in records(b, False):
            live[_pk(r, key)] = r  # the last record of a key wins
    previous: dict[str, dict] = {}
    for o in (current or {}).get("objects", []):
        data = dst.boto.get_object(Bucket=dst.bucket, Key=o["key"])["Body"].read()
        for r in fmt.decode(data):
            previous[_pk(r, key)] = r
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    merged: dict[str, dict] = {}
    for k, r in previous.items():
        if k not in live:
            r = dict(r)
            if not r.get(DELETED_AT):
                r[DELETED_AT] = stamp
            merged[k] = r
            report.rows_deleted += 1
    for k, r in live.items():
        merged[k] = {**{c: v for c, v in r.items() if c != DELETED_AT}, DELETED_AT: None}
    rows = [merged[k] for k in sorted(merged)]
    return [records_batch(rows)] if rows else []
