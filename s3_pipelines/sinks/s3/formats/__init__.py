"""Destination formats: one small module per format, each a `Format`, and the registry below
(adding a format = one module + one entry).

`encode(batches, out, provenance[, level])` writes the records of one window to a binary file, the same
bytes for the same records (stable column and row order, gzip without mtime or file name);
`decode(data)` reads an object back into records (the round-trip readers of the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Sequence

import pyarrow as pa

from . import csv, json_doc, ndjson, parquet


@dataclass(frozen=True)
class Format:
    name: str
    ext: str  # the `{ext}` of key templates
    content_type: str
    encode: Callable[[Sequence[pa.RecordBatch], BinaryIO, bool], None]
    decode: Callable[[bytes], list[dict]]
    levels: range | None = None  # compression levels `encode` takes as its 4th argument, if any


FORMATS: dict[str, Format] = {
    "ndjson.gz": Format("ndjson.gz", ".gz", "application/gzip", ndjson.encode_gzip, ndjson.decode_gzip,
                        range(1, 10)),
    "json": Format("json", ".jsonl", "application/x-ndjson", ndjson.encode, ndjson.decode),
    "json-doc": Format("json-doc", ".json", "application/json", json_doc.encode, json_doc.decode),
    "csv": Format("csv", ".csv", "text/csv", csv.encode, csv.decode),
    "parquet": Format("parquet", ".parquet", "application/vnd.apache.parquet", parquet.encode, parquet.decode),
}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown destination format {name!r} (known: {', '.join(FORMATS)})") from None


__all__ = ["FORMATS", "Format", "get_format"]
