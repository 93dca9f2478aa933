"""Bytes of one object -> a stream of Arrow record batches, one module per format (`registry.py`
lists them: CSV, JSON Lines, JSON, Parquet); `batches.py` picks the format and finishes the batches.

`read_batches` streams: decompressed bytes are read in bounded chunks, Parquet row groups batch by
batch. Each batch ends with provenance columns `_s3_bucket`, `_s3_key`, `_s3_etag`, `_s3_row`
(1-based record ordinal, bad records counted) and `_s3_line` (1-based start line; null for
Parquet and JSON documents), and before them — for JSON formats without a declared schema — `_s3_record`, each
record's JSON text exactly as written (typed columns are the union of the records' keys; this
column is what each record really held). Bad records go to `on_bad` or stop the object, per `on_error`.
"""

from __future__ import annotations

from .base import BadRecord, Format, LocalFileSource, ObjectSource, ReadOptions
from .batches import read_batches
from .records import PROVENANCE, RECORD_COLUMN, is_json_text
from .registry import FORMATS, detect_format, format_names

__all__ = ["BadRecord", "Format", "FORMATS", "LocalFileSource", "ObjectSource", "ReadOptions", "read_batches",
           "detect_format", "format_names", "is_json_text", "PROVENANCE", "RECORD_COLUMN"]
