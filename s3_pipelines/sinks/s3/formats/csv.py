"""`csv`: a header row, then one row per record. Columns in first-seen key order across the
window's records; strings as they are, numbers and booleans as their JSON literals, nested values
(objects, arrays) as their JSON text; a null and an absent key are both an empty cell."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO, Sequence

import pyarrow as pa

from ....readers.records import json_dumps
from ._rows import records


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json_dumps(value)


def encode(batches: Sequence[pa.RecordBatch], out: BinaryIO, provenance: bool = False) -> None:
    rows = [r for b in batches for r in records(b, provenance)]
    names: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in names:
                names[k] = None
    text = io.StringIO(newline="")
    w = csv.writer(text, lineterminator="\n")
    w.writerow(list(names))
    for r in rows:
        w.writerow([cell(r.get(n)) for n in names])
    out.write(text.getvalue().encode())


def decode(data: bytes) -> list[dict]:
    """Rows as dicts of cell text; empty cells left out (CSV does not tell null from absent)."""
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    header = next(reader, [])
    return [{k: v for k, v in zip(header, row) if v != ""} for row in reader]
