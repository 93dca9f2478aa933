"""JSON documents: a top-level array of objects (streamed element by element with ijson), or one
object (one record), or several top-level objects one after another. BadRecord.line is the
element's 1-based ordinal. A syntax error cannot be skipped over: it is reported as a bad record
(so the policy applies) and then, since the rest is unreadable, ends the object with ObjectError.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

import ijson
import numpy as np
import pyarrow as pa

from ..objects import ObjectError
from .base import Format, Policy, ReadOptions
from .compression import ChunkReader
from .records import Piece, json_dumps, table_from_records

BOM = b"\xef\xbb\xbf"


def _plain(v):
    """ijson gives Decimal for non-integers (its float mode rejects integers beyond 64 bits)."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _first_byte(reader: ChunkReader) -> bytes:
    want = 64
    while True:
        head = reader.peek(want)
        stripped = head.lstrip()
        if stripped or len(head) < want:
            return stripped[:1]
        want *= 2


def read_json(reader: ChunkReader, key: str, policy: Policy, opts: ReadOptions) -> Iterator[Piece]:
    if reader.peek(3) == BOM:
        reader.skip(3)
    first = _first_byte(reader)
    if not first:
        return
    if first == b"[":
        items = ijson.items(reader, "item")
    else:
        items = ijson.items(reader, "", multiple_values=True)
    ordinal, batch, rows = 0, [], []
    try:
        for item in items:
            ordinal += 1
            if not isinstance(item, dict):
                policy.bad(ordinal, f"element {ordinal} is not a JSON object")
                continue
            batch.append(_plain(item))
            rows.append(ordinal)
            if len(batch) >= opts.batch_rows:
                yield _piece(batch, rows)
                batch, rows = [], []
    except ijson.JSONError as e:
        where = ordinal + 1
        reason = f"not valid JSON: {_first_line(e)}"
        policy.bad(where, reason)
        raise ObjectError(key, f"{reason}; the rest of the document cannot be read", where) from None
    except RecursionError:
        where = max(ordinal, 1)
        reason = "JSON nested too deeply to read"
        policy.bad(where, reason)
        raise ObjectError(key, f"{reason}; the rest of the document cannot be read", where) from None
    if batch:
        yield _piece(batch, rows)


FORMAT = Format("json", (".json",), read_json)


def _first_line(e: Exception) -> str:
    msg = e.args[0] if e.args else type(e).__name__
    if isinstance(msg, bytes):  # yajl's messages arrive as bytes
        msg = msg.decode("utf-8", errors="replace")
    lines = str(msg).strip().splitlines()
    return lines[0].strip() if lines else type(e).__name__


def _piece(batch: list[dict], rows: list[int]) -> Piece:
    table, json_cols = table_from_records(batch)
    texts = pa.array([json_dumps(rec) for rec in batch], pa.string())
    return Piece(table, np.array(rows, dtype=np.int64), None, json_text=json_cols, texts=texts)
