"""Bytes of one object -> a stream of Arrow record batches (CSV, JSON Lines, JSON, Parquet).

`read_batches` streams: decompressed bytes are read in bounded chunks, Parquet row groups batch by
batch. Each batch ends with provenance columns `_s3_bucket`, `_s3_key`, `_s3_etag`, `_s3_row`
(1-based record ordinal, bad records counted) and `_s3_line` (1-based start line; null for
Parquet and JSON documents), and before them — for JSON formats without a declared schema — `_s3_record`, each
record's JSON text exactly as written (typed columns are the union of the records' keys; this
column is what each record really held). Bad records go to `on_bad` or stop the object, per `on_error`.
"""

from __future__ import annotations

from typing import Callable, Iterator

import orjson
import pyarrow as pa

from ..objects import ObjectError, S3Object
from .base import BadRecord, LocalFileSource, ObjectSource, Policy, ReadOptions
from .compression import ChunkReader, PushbackStream, detect_compression, iter_decompressed
from .csv import read_csv
from .envelope import AirbyteEnvelope
from .json import read_json
from .jsonl import read_jsonl
from .parquet import read_parquet
from .records import PROVENANCE, RECORD_COLUMN, Piece, is_json_text, json_text_field, storable
from .schema import TypeMemory, apply_schema, infer_text_columns

__all__ = ["BadRecord", "LocalFileSource", "ObjectSource", "ReadOptions", "read_batches", "detect_format",
           "is_json_text", "PROVENANCE", "RECORD_COLUMN"]

COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
FORMAT_SUFFIXES = {
    ".ndjson": "jsonl",
    ".jsonl": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_TEXT_READERS = {"jsonl": read_jsonl, "csv": read_csv, "json": read_json}


def _split_suffixes(key: str) -> tuple[str | None, str | None]:
    """(format, compression) named by the key's extensions, each None when not named."""
    name = key.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix, comp in COMPRESSION_SUFFIXES.items():
        if name.endswith(suffix):
            name, compression = name[: -len(suffix)], comp
            break
    dot = name.rfind(".")
    return (FORMAT_SUFFIXES.get(name[dot:]) if dot >= 0 else None), compression


def detect_format(key: str) -> str | None:
    return _split_suffixes(key)[0]


def _sniff_text_format(reader: ChunkReader) -> str:
    """Unknown extension: `[` -> json, a first line that is a whole object -> jsonl, `{` -> json
    (one pretty-printed object), anything else -> csv."""
    head = reader.peek(1 << 16).lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        first_line = head.split(b"\n", 1)[0]
        try:
            return "jsonl" if isinstance(orjson.loads(first_line), dict) else "json"
        except orjson.JSONDecodeError:
            return "json"
    return "csv"


def _read_exact(stream, n: int) -> bytes:
    parts, have = [], 0
    while have < n:
        b = stream.read(n - have)
        if not b:
            break
        parts.append(b)
        have += len(b)
    return b"".join(parts)


def read_batches(
    source: ObjectSource,
    provenance: S3Object | None,
    opts: ReadOptions,
    on_bad: Callable[[BadRecord], None],
) -> Iterator[pa.RecordBatch]:
    key = source.key
    policy = Policy(key, opts, on_bad)
    finisher = _Finisher(source, provenance, opts, policy)
    named_format, named_compression = _split_suffixes(key)
    fmt = named_format if opts.format == "auto" else opts.format
    if fmt not in (None, "csv", "jsonl", "json", "parquet"):
        raise ValueError(f"unknown format {opts.format!r}")
    if opts.compression not in ("auto", "gzip", "zstd", "none"):
        raise ValueError(f"unknown compression {opts.compression!r}")
    if fmt == "parquet":
        if opts.compression in ("gzip", "zstd") or (opts.compression == "auto" and named_compression):
            raise ObjectError(key, "compressed Parquet objects are not supported (Parquet compresses inside)")
        for piece in read_parquet(source, opts):
            yield from finisher.finish(piece)
        return
    raw = source.open_stream()
    try:
        head = _read_exact(raw, 4)
        if not head:
            return
        if fmt is None and head == b"PAR1":
            raw.close()
            for piece in read_parquet(source, opts):
                yield from finisher.finish(piece)
            return
        compression = detect_compression(head) if opts.compression == "auto" else opts.compression
        pieces = iter_decompressed(PushbackStream(raw, head), compression, key, opts.max_decompressed_bytes)
        reader = ChunkReader(pieces)
        if fmt is None:
            fmt = _sniff_text_format(reader)
        for piece in _TEXT_READERS[fmt](reader, key, policy, opts):
            yield from finisher.finish(piece)
    finally:
        close = getattr(raw, "close", None)
        if close:
            close()


class _Finisher:
    """Envelope -> declared schema or inferred types -> provenance -> batches of <= batch_rows."""

    def __init__(self, source: ObjectSource, provenance: S3Object | None, opts: ReadOptions, policy: Policy):
        self.opts, self.policy = opts, policy
        self.bucket = provenance.bucket if provenance else None
        self.key = provenance.key if provenance else source.key
        self.etag = provenance.etag if provenance else None
        self.envelope = AirbyteEnvelope(policy) if opts.envelope == "airbyte" else None
        if opts.envelope not in ("none", "airbyte"):
            raise ValueError(f"unknown envelope {opts.envelope!r}")
        if opts.on_error not in ("skip_record", "skip_file", "fail"):
            raise ValueError(f"unknown on_error {opts.on_error!r}")
        self.types = TypeMemory()

    def finish(self, piece: Piece) -> Iterator[pa.RecordBatch]:
        if self.envelope is not None:
            piece = self.envelope.unwrap(piece)
        if self.opts.schema:
            piece = apply_schema(piece, self.opts.schema, self.policy)
        else:
            piece = self.types.steady(infer_text_columns(piece))
        table = piece.table
        n = table.num_rows
        if not n:
            return
        data, fixed = [], {}
        for i, name in enumerate(table.column_names):
            if name in PROVENANCE:
                continue
            col, fld = storable(table.column(i), name)
            if fld is not None:
                fixed[name] = fld
            data.append((name, col))
        prov = [
            ("_s3_bucket", _constant(self.bucket, n)),
            ("_s3_key", _constant(self.key, n)),
            ("_s3_etag", _constant(self.etag, n)),
            ("_s3_row", pa.array(piece.rows, pa.int64())),
            ("_s3_line", pa.nulls(n, pa.int64()) if piece.lines is None else pa.array(piece.lines, pa.int64())),
        ]
        if piece.texts is not None:  # before the provenance columns, which stay last
            data.append((RECORD_COLUMN, piece.texts))
        cols = data + prov
        fields = [fixed[name] if name in fixed
                  else json_text_field(name) if name in piece.json_text and pa.types.is_string(c.type)
                  else pa.field(name, c.type) for name, c in cols]
        out = pa.Table.from_arrays([c for _, c in cols], schema=pa.schema(fields))
        yield from out.to_batches(max_chunksize=self.opts.batch_rows)


def _constant(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), n)
