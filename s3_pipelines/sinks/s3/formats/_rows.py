"""What the encoders share: the record text or typed row of each Arrow row, and an in-memory ObjectSource so the round-trip readers reuse `s3_pipelines.readers.read_batches`."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....readers.records import PROVENANCE, RECORD_COLUMN, is_json_text, json_dumps, json_loads

META_COLUMNS = tuple(c for c in PROVENANCE if c != RECORD_COLUMN)  # _s3_bucket, _s3_key, ...


def data_names(schema: pa.Schema, provenance: bool) -> list[str]:
    """The typed columns of a batch to write: provenance columns only when asked for."""
    return [n for n in schema.names if provenance or not n.startswith("_s3_")]


def typed_rows(batch: pa.RecordBatch, provenance: bool) -> list[dict]:
    """Each row as a dict of its typed columns; JSON-text columns hold values again."""
    names = data_names(batch.schema, provenance)
    if RECORD_COLUMN in names:
        names.remove(RECORD_COLUMN)
    cols = {}
    for name in names:
        values = batch.column(name).to_pylist()
        if is_json_text(batch.schema.field(name)):
            values = [None if v is None else json_loads(v) for v in values]
        cols[name] = values
    return [{n: cols[n][i] for n in names} for i in range(batch.num_rows)]


def _meta_text(batch: pa.RecordBatch, i: int) -> str:
    pairs = [(n, batch.column(n)[i].as_py()) for n in META_COLUMNS if n in batch.schema.names]
    return ",".join(f"{json_dumps(n)}:{json_dumps(v)}" for n, v in pairs)


def record_texts(batch: pa.RecordBatch, provenance: bool) -> list[str]:
    """Each row's JSON text: the record as the source wrote it (`_s3_record`), else its typed row.
    With `provenance`, the `_s3_*` columns are added at the end of each object."""
    texts = batch.column(RECORD_COLUMN).to_pylist() if RECORD_COLUMN in batch.schema.names else None
    rows = None
    out = []
    for i in range(batch.num_rows):
        text = texts[i] if texts is not None else None
        if text is None:
            rows = rows if rows is not None else typed_rows(batch, False)
            text = json_dumps(_plain(rows[i]))
        if provenance:
            meta = _meta_text(batch, i)
            body = text.rstrip()[:-1].rstrip()
            text = f"{body}{',' if body != '{' else ''}{meta}}}" if meta else text
        out.append(text)
    return out


def record_lines(batch: pa.RecordBatch, provenance: bool) -> bytes | memoryview:
    """The batch as JSON Lines bytes (each line ends with a newline). The common case — every row
    has its record text, no provenance — is one vectorised join."""
    if not provenance and RECORD_COLUMN in batch.schema.names and not batch.column(RECORD_COLUMN).null_count:
        col = batch.column(RECORD_COLUMN)
        lines = pc.binary_join_element_wise(col, pa.scalar(""), "\n")
        if not isinstance(lines, pa.StringArray):
            lines = lines.cast(pa.string())
        offsets = np.frombuffer(lines.buffers()[1], np.int32)[lines.offset: lines.offset + len(lines) + 1]
        return memoryview(lines.buffers()[2].slice(offsets[0], offsets[-1] - offsets[0])) if len(lines) else b""
    return "".join(t + "\n" for t in record_texts(batch, provenance)).encode()


def records(batch: pa.RecordBatch, provenance: bool) -> list[dict]:
    """Each row as a Python record: the parsed record text, else the typed row."""
    if RECORD_COLUMN not in batch.schema.names:
        return [_plain(r) for r in typed_rows(batch, provenance)]
    return [json_loads(t) for t in record_texts(batch, provenance)]


def _plain(row: dict) -> dict:
    """Values JSON can hold: times as ISO 8601 text, decimals as their text, bytes as UTF-8."""
    return {k: _plain_value(v) for k, v in row.items()}


def _plain_value(v):
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return _plain(v)
    if isinstance(v, list):
        return [_plain_value(x) for x in v]
    return v


class BytesSource:
    """An `ObjectSource` over bytes in memory (the round-trip readers)."""

    def __init__(self, data: bytes, key: str):
        self.data, self.key = data, key

    def open_stream(self) -> BinaryIO:
        return io.BytesIO(self.data)

    def open_random_access(self) -> BinaryIO:
        return io.BytesIO(self.data)


def read_back(data: bytes, key: str, fmt: str) -> Iterator[pa.RecordBatch]:
    """The engine's own reader over an object's bytes; any bad record fails the read."""
    from ....readers import ReadOptions, read_batches

    yield from read_batches(BytesSource(data, key), None, ReadOptions(format=fmt, on_error="fail"),
                            lambda bad: None)


def texts_of(batches: Iterable[pa.RecordBatch]) -> list[dict]:
    """Records of read-back JSON batches, from their record text (what each record really held)."""
    return [json_loads(t) for b in batches for t in b.column(RECORD_COLUMN).to_pylist()]
