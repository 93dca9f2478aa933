"""`json` (newline-delimited JSON) and `ndjson.gz` (the same, gzipped: Pipedream's objects).

Each line is the record as the source wrote it (`_s3_record`: key order, empty objects and
arrays, absent keys, number literals), else the typed row for CSV and Parquet sources."""

from __future__ import annotations

import gzip
from typing import BinaryIO, Sequence

import pyarrow as pa

from ._gzip import LEVEL, ParallelGzip
from ._rows import read_back, record_lines, texts_of


def encode(batches: Sequence[pa.RecordBatch], out: BinaryIO, provenance: bool = False) -> None:
    for batch in batches:
        out.write(record_lines(batch, provenance))


def encode_gzip(batches: Sequence[pa.RecordBatch], out: BinaryIO, provenance: bool = False,
                level: int = LEVEL) -> None:
    with ParallelGzip(out, level) as z:
        encode(batches, z, provenance)


def decode(data: bytes) -> list[dict]:
    return texts_of(read_back(data, "object.jsonl", "jsonl"))


def decode_gzip(data: bytes) -> list[dict]:
    return decode(gzip.decompress(data))
