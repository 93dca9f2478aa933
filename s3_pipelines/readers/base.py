"""Options, bad-record reports, sources, the bad-record policy shared by every format, and `Format`,
which each format's module declares (the registry, `registry.py`, lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from ..objects import BadRecordError, ObjectError
from .options import ColumnSpec, CsvOptions
from .records import Piece


@dataclass(frozen=True)
class ReadOptions:
    format: str = "auto"  # a name (or alias) of registry.FORMATS, or auto
    compression: str = "auto"  # auto | a name of compression.CODECS | none
    csv: CsvOptions = field(default_factory=CsvOptions)
    envelope: str = "none"  # none | airbyte
    schema: tuple[ColumnSpec, ...] | None = None
    on_error: str = "skip_record"  # skip_record | skip_file | fail
    max_errors: int = 1000
    max_decompressed_bytes: int = 50 * 2**30
    max_line_bytes: int = 64 * 2**20  # a longer JSON line is a bad record, read past without holding it
    batch_rows: int = 65536  # upper bound of rows per output batch


@dataclass(frozen=True)
class BadRecord:
    key: str
    line: int | None  # 1-based source line (jsonl/csv) or record ordinal (parquet/json)
    reason: str


@runtime_checkable
class ObjectSource(Protocol):
    key: str

    def open_stream(self) -> BinaryIO: ...

    def open_random_access(self) -> BinaryIO: ...


class LocalFileSource:
    """An ObjectSource over a local file; `key` defaults to the file name (drives format detection)."""

    def __init__(self, path, key: str | None = None):
        self.path = os.fspath(path)
        self.key = key if key is not None else os.path.basename(self.path)

    def open_stream(self) -> BinaryIO:
        return open(self.path, "rb")

    def open_random_access(self) -> BinaryIO:
        return open(self.path, "rb")

    def __repr__(self) -> str:
        return f"LocalFileSource({self.path!r}, key={self.key!r})"


class Policy:
    """Applies `on_error` to each bad record: report and count (skip_record) or stop (skip_file, fail).

    With skip_file / fail the BadRecordError carries the record; `on_bad` is not called for it.
    """

    def __init__(self, key: str, opts: ReadOptions, on_bad: Callable[[BadRecord], None]):
        self.key, self.opts, self.on_bad = key, opts, on_bad
        self.count = 0

    def bad(self, line: int | None, reason: str) -> None:
        if self.opts.on_error != "skip_record":
            raise BadRecordError(self.key, reason, line)
        self.count += 1
        if self.count > self.opts.max_errors:
            raise ObjectError(self.key, f"more than {self.opts.max_errors} bad records", line)
        self.on_bad(BadRecord(self.key, line, reason))


@dataclass(frozen=True)
class Format:
    """One input format, declared by its reader's module as `FORMAT`.

    `read(reader, key, policy, opts)` gets the decompressed bytes as a `ChunkReader` (a byte-stream
    format), or, when `random_access`, `read(source, opts)` gets the object to seek in (Parquet's
    footer); both yield `records.Piece`s. `magic` recognises a random-access format by its first
    bytes when the key names no format; `aliases` are other names a config may give (Polaris')."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[..., Iterator]
    random_access: bool = False
    magic: bytes = b""
    aliases: tuple[str, ...] = ()
    title: str = ""  # the name in messages, when not `name`


def seekable_pieces(source: ObjectSource, open_batches: Callable[[BinaryIO], Iterator[pa.RecordBatch]],
                    what: str, batch_rows: int) -> Iterator[Piece]:
    """The pieces of a random-access format: `open_batches(file)` reads the file's metadata and gives
    its record batches one at a time; an empty object has none. Errors name the key (and the first
    row of a batch that cannot be read)."""
    key = source.key
    f = source.open_random_access()
    try:
        size = f.seek(0, 2)
        f.seek(0)
        if not size:
            return
        try:
            batches = open_batches(f)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise ObjectError(key, f"not a valid {what} file: {e}") from None
        row = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as e:
                raise ObjectError(key, f"corrupt {what} data: {e}", row + 1) from None
            for offset in range(0, batch.num_rows, batch_rows):
                part = batch.slice(offset, batch_rows)
                n = part.num_rows
                yield Piece(pa.Table.from_batches([part]), np.arange(row + 1, row + 1 + n, dtype=np.int64), None)
                row += n
    finally:
        f.close()
