"""One load into one destination: inputs -> windows -> one encoded object per window -> create-only
writes. No Dagster, no config models: the caller passes a `DestinationSpec` and the inputs.

The same inputs give the same objects under the same keys, byte for byte: inputs are taken in
order of their ids, rows in the order read; the window comes from the data; `{id}` is the hash of
the encoded content. A window with no records writes nothing; a window of one load is one object."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import pyarrow as pa

from .formats import Format, get_format
from .keys import DEFAULT_TEMPLATE, check_template, render_key
from .windows import Window, parse_window, split_by_record_time, window_start
from .writer import Content, CreateOnlyWriter

SPOOL_BYTES = 32 * 2**20  # an encoded object larger than this is spooled to a temporary file


@dataclass(frozen=True)
class DestinationSpec:
    name: str
    prefix: str  # full key prefix in the bucket (the connection's prefix included)
    format: str = "ndjson.gz"
    batch_window: str = "1m"
    key_template: str = DEFAULT_TEMPLATE
    time_field: str | None = None  # None: the window of a record is its source object's arrival
    provenance: bool = False  # write the `_s3_*` columns / keys too
    compression_level: int | None = None  # the format's default when None (gzip: 6)

    def __post_init__(self):
        fmt = get_format(self.format)
        if self.compression_level is not None and self.compression_level not in (fmt.levels or ()):
            raise ValueError(f"format {self.format} takes no compression level {self.compression_level}"
                             + (f" (levels {fmt.levels.start}-{fmt.levels.stop - 1})" if fmt.levels else ""))
        parse_window(self.batch_window)
        check_template(self.key_template)


@dataclass
class Input:
    """One source object of the load: its id (as the ledger knows it, e.g. `bucket/key@etag`),
    its arrival time (LastModified) and a function opening its record batches."""

    id: str
    arrival: dt.datetime
    batches: Callable[[], Iterable[pa.RecordBatch]]


@dataclass(frozen=True)
class WrittenObject:
    destination: str
    window_start: dt.datetime
    key: str
    etag: str
    rows: int
    bytes: int
    sha256: str
    inputs: tuple[str, ...]
    created: bool  # False: the object was there already (a re-run)


@dataclass
class LoadResult:
    destination: str
    objects: list[WrittenObject] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # every input consumed, with records or not

    @property
    def rows(self) -> int:
        return sum(o.rows for o in self.objects)


class _HashingFile:
    """A write-only file that spools to memory, then disk, and digests what goes through."""

    def __init__(self, spool_bytes: int):
        self.file = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
        self.sha256, self.size = hashlib.sha256(), 0
        self.closed = False

    def write(self, data) -> int:
        self.sha256.update(data)
        n = self.file.write(data)
        self.size += n
        return n

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def content(self) -> Content:
        self.file.seek(0)
        return Content(self.file, self.size, self.sha256.hexdigest())


def encode_window(batches: Sequence[pa.RecordBatch], fmt: Format, provenance: bool,
                  spool_bytes: int = SPOOL_BYTES, level: int | None = None) -> Content:
    out = _HashingFile(spool_bytes)
    if level is None:
        fmt.encode(batches, out, provenance)
    else:
        fmt.encode(batches, out, provenance, level)
    return out.content()


def _windows(inputs: list[Input], spec: DestinationSpec, seconds: int) -> Iterable[Window]:
    """Windows in time order. By arrival, an input is in one window, so one window's inputs are
    read at a time; by a record time field, every input is read first."""
    if spec.time_field is None:
        groups: dict[dt.datetime, list[Input]] = {}
        for inp in inputs:
            groups.setdefault(window_start(inp.arrival, seconds), []).append(inp)
        for start in sorted(groups):
            w = Window(start)
            for inp in groups[start]:
                for batch in inp.batches():
                    w.add(batch, inp.id)
            yield w
        return
    by_start: dict[int, Window] = {}
    for inp in inputs:
        split_by_record_time(inp.batches(), inp.id, spec.time_field, seconds, by_start)
    for start in sorted(by_start):
        yield by_start.pop(start)


def write_load(inputs: Iterable[Input], spec: DestinationSpec, writer: CreateOnlyWriter,
               spool_bytes: int = SPOOL_BYTES) -> LoadResult:
    fmt, seconds = get_format(spec.format), parse_window(spec.batch_window)
    ordered = sorted(inputs, key=lambda i: i.id)
    result = LoadResult(spec.name, inputs=[i.id for i in ordered])
    for window in _windows(ordered, spec, seconds):
        if not window.rows:
            continue
        content = encode_window(window.batches, fmt, spec.provenance, spool_bytes, spec.compression_level)
        try:
            key = render_key(spec.key_template, prefix=spec.prefix, start=window.start,
                             content_id=content.sha256, ext=fmt.ext)
            put = writer.put(key, content, fmt.content_type)
        finally:
            content.body.close()
        result.objects.append(WrittenObject(spec.name, window.start, key, put.etag, window.rows, content.size,
                                            content.sha256, tuple(window.inputs), put.created))
    return result
