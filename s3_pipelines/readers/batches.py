"""Bytes of one object -> a stream of Arrow record batches: the format and compression are picked
(`registry.py`: the stream's own, else the key's suffixes, else magic bytes, else sniffed text), the
format's reader parses, and `_Finisher` unwraps envelopes, types the columns and adds provenance.
"""

from __future__ import annotations

from typing import Callable, Iterator

import orjson
import pyarrow as pa

from ..objects import ObjectError, S3Object
from .base import BadRecord, ObjectSource, Policy, ReadOptions
from .compression import ChunkReader, PushbackStream, detect_compression, iter_decompressed
from .envelope import AirbyteEnvelope
from .records import PROVENANCE, RECORD_COLUMN, Piece, json_text_field, storable
from .registry import FORMATS, HEAD_BYTES, by_magic, compression_names, get_format, split_suffixes
from .schema import TypeMemory, apply_schema, infer_text_columns


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
    fmt, named_compression = split_suffixes(key)
    if opts.format != "auto":
        fmt = get_format(opts.format)
    if opts.compression not in compression_names():
        raise ValueError(f"unknown compression {opts.compression!r}")
    if fmt is not None and fmt.random_access:
        if opts.compression not in ("auto", "none") or (opts.compression == "auto" and named_compression):
            title = fmt.title or fmt.name
            raise ObjectError(key, f"compressed {title} objects are not supported ({title} compresses inside)")
        yield from _finish_all(finisher, fmt.read(source, opts))
        return
    raw = source.open_stream()
    try:
        head = _read_exact(raw, HEAD_BYTES)
        if not head:
            return
        if fmt is None and (magic := by_magic(head)) is not None:
            raw.close()
            yield from _finish_all(finisher, magic.read(source, opts))
            return
        compression = detect_compression(head) if opts.compression == "auto" else opts.compression
        pieces = iter_decompressed(PushbackStream(raw, head), compression, key, opts.max_decompressed_bytes)
        reader = ChunkReader(pieces)
        if fmt is None:
            fmt = FORMATS[_sniff_text_format(reader)]
        yield from _finish_all(finisher, fmt.read(reader, key, policy, opts))
    finally:
        close = getattr(raw, "close", None)
        if close:
            close()


def _finish_all(finisher: _Finisher, pieces: Iterator[Piece]) -> Iterator[pa.RecordBatch]:
    for piece in pieces:
        yield from finisher.finish(piece)


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
        self._constants: dict[str | None, pa.Array] = {}

    def _constant(self, value: str | None, n: int) -> pa.Array:
        """`value` n times: a slice of one array made for the longest batch (built per batch, the
        three provenance constants cost 0.24 s per 1M records)."""
        have = self._constants.get(value)
        if have is None or len(have) < n:
            have = self._constants[value] = _constant(value, n)
        return have.slice(0, n)

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
            ("_s3_bucket", self._constant(self.bucket, n)),
            ("_s3_key", self._constant(self.key, n)),
            ("_s3_etag", self._constant(self.etag, n)),
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
