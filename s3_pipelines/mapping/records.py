"""Arrow batches of a stream (staged Parquet, or a local file read by the readers) -> the records a
mapping sees: the source fields and `_airbyte_*` metadata as read, without our `_s3_*`
provenance columns, each with its source line (the record number for formats without lines).

A field missing from some records of an object reads as null in them (columns are the union of
the object's fields); nested objects likewise. A column the reader kept as JSON text (values of
mixed types, integers beyond int64) is decoded back, so jq sees the values the object held."""

from __future__ import annotations

import pyarrow as pa

from ..readers.records import is_json_text
from .evaluate import loads

PROVENANCE = ("_s3_bucket", "_s3_key", "_s3_etag", "_s3_row", "_s3_line")


def batch_records(batch: pa.RecordBatch | pa.Table) -> tuple[list[dict], list[int | None]]:
    names = batch.schema.names
    n = batch.num_rows
    line = batch.column(names.index("_s3_line")).to_pylist() if "_s3_line" in names else [None] * n
    row = batch.column(names.index("_s3_row")).to_pylist() if "_s3_row" in names else [None] * n
    lines = [ln if ln is not None else r for ln, r in zip(line, row)]
    keep = [i for i, name in enumerate(names) if name not in PROVENANCE]
    if len(keep) != len(names):
        batch = batch.select(keep)
    records = batch.to_pylist()
    for f in batch.schema:
        if is_json_text(f):
            name = f.name
            for rec in records:
                if rec[name] is not None:
                    rec[name] = loads(rec[name])
    return records, lines
