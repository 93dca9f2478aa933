"""JSON Lines: decompressed bytes cut into chunks at line ends, each parsed by pyarrow (fast path);
a chunk pyarrow rejects is re-parsed line by line with orjson to find the bad lines exactly.

Line numbers: every `\\n` ends a line (`\\r\\n` too). Blank lines are skipped and are not records.
Integers beyond int64: pyarrow would silently make them doubles; such chunks take the slow path
and the column becomes JSON text, so the digits survive (e.g. "123456789012345678901234").
"""

from __future__ import annotations

import json
import re
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .base import Format, Policy, ReadOptions
from .compression import ChunkReader
from .records import Piece, table_from_records

CHUNK_BYTES = 8 << 20  # decompressed bytes parsed at once; tests shrink it to cross chunk edges
BOM = b"\xef\xbb\xbf"
_BLANK_INSIDE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")
_LONG_DIGITS = re.compile(rb"\d{19}")  # an integer that may not fit int64
# pyarrow's JSON reader takes seconds per thousand levels of nesting (10 s for 10,000); orjson
# refuses past 1,024 at once, so a chunk nested deeper than this goes line by line
_ARROW_MAX_DEPTH = 256
_INT64_LIMIT = 2.0**63


class LongLine:
    """In place of a line longer than the limit: it was read past, never held whole."""

    def __init__(self, size: int):
        self.size = size


def line_chunks(reader: ChunkReader, max_line_bytes: int | None = None) -> Iterator[bytes | LongLine]:
    """Chunks of whole lines (the last may lack its newline) of about CHUNK_BYTES each; a line
    longer than that is one chunk of its own, and a line longer than `max_line_bytes` becomes a
    LongLine (memory stays bounded by the limit, whatever the line's length)."""
    rest, first, eof = b"", True, False
    want = CHUNK_BYTES
    while not eof:
        parts, size = [rest], len(rest)
        while size < want:
            piece = reader.next_piece()
            if not piece:
                eof = True
                break
            parts.append(piece)
            size += len(piece)
        data = b"".join(parts)
        if first and data:
            first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        pos = 0
        while len(data) - pos >= CHUNK_BYTES:
            cut = data.rfind(b"\n", pos, pos + CHUNK_BYTES) + 1
            if cut <= pos:  # no line end inside: take the whole long line
                cut = data.find(b"\n", pos + CHUNK_BYTES) + 1
                if cut == 0:
                    break
            yield data[pos:cut]
            pos = cut
        rest = data[pos:] if pos else data
        if max_line_bytes and len(rest) > max_line_bytes and b"\n" not in rest:
            size, rest = len(rest), b""  # drop what we hold of it and read on to its end
            while True:
                piece = reader.next_piece()
                if not piece:
                    eof = True
                    break
                nl = piece.find(b"\n")
                if nl >= 0:
                    size, rest = size + nl + 1, piece[nl + 1 :]
                    break
                size += len(piece)
            yield LongLine(size)
            want = CHUNK_BYTES
            continue
        want = CHUNK_BYTES if pos else len(rest) + 1  # a long line without its end yet: read on
    if rest:
        yield rest


class ArrowJson:
    """pyarrow's JSON reader, but strings stay strings: pyarrow infers timestamps from ISO-looking
    strings (dropping their zone); fields where that happens are declared string from then on."""

    def __init__(self) -> None:
        self.hints: pa.Schema | None = None
        self.order: dict[str, int] = {}

    def parse(self, data: bytes) -> pa.Table:
        for _ in range(8):
            po = (
                pj.ParseOptions(explicit_schema=self.hints, unexpected_field_behavior="infer")
                if self.hints is not None
                else None
            )
            table = pj.read_json(pa.BufferReader(data), parse_options=po)
            if self.hints is None:  # natural order, before explicit fields move to the front
                for name in table.column_names:
                    self.order.setdefault(name, len(self.order))
            found = _string_hints(table.schema)
            if found is None:
                break
            self.hints = found if self.hints is None else _merge_schema(self.hints, found)
        for name in table.column_names:
            self.order.setdefault(name, len(self.order))
        if self.hints is not None:  # explicit fields come first: restore the source order
            table = table.select(sorted(table.column_names, key=self.order.__getitem__))
        # pyarrow 26 loses list elements before the first non-null one (`[null, 1]` gives one
        # value for two offsets): such a table is invalid, and the caller takes the slow path
        table.validate(full=True)
        return table


def _hint_type(t: pa.DataType) -> pa.DataType | None:
    if pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_struct(t):
        fields = [(f.name, h) for f in t if (h := _hint_type(f.type)) is not None]
        return pa.struct(fields) if fields else None
    if pa.types.is_list(t):
        h = _hint_type(t.value_type)
        return pa.list_(h) if h is not None else None
    return None


def _string_hints(schema: pa.Schema) -> pa.Schema | None:
    fields = [pa.field(f.name, h) for f in schema if (h := _hint_type(f.type)) is not None]
    return pa.schema(fields) if fields else None


def _merge_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        merged = {f.name: f.type for f in a}
        for f in b:
            merged[f.name] = _merge_type(merged[f.name], f.type) if f.name in merged else f.type
        return pa.struct(list(merged.items()))
    if pa.types.is_list(a) and pa.types.is_list(b):
        return pa.list_(_merge_type(a.value_type, b.value_type))
    return b


def _merge_schema(a: pa.Schema, b: pa.Schema) -> pa.Schema:
    return pa.schema(list(_merge_type(pa.struct(list(a)), pa.struct(list(b)))))


def _has_huge_double(arr) -> bool:
    """True when a double anywhere (nested too) is beyond int64: maybe a big integer pyarrow rounded."""
    t = arr.type
    if pa.types.is_floating(t):
        mm = pc.max(pc.abs(arr)).as_py()
        return mm is not None and mm >= _INT64_LIMIT
    if isinstance(arr, pa.ChunkedArray):
        return any(_has_huge_double(c) for c in arr.chunks)
    if pa.types.is_struct(t):
        return any(_has_huge_double(arr.field(i)) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_huge_double(arr.flatten())
    return False


def _json_reason(line: bytes, err: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not valid UTF-8 at byte {e.start + 1}"
    msg = re.sub(r": line \d+ column (\d+) \(char \d+\)$", r" at column \1", str(err))
    return f"not valid JSON: {msg}"


def read_jsonl(reader: ChunkReader, key: str, policy: Policy, opts: ReadOptions) -> Iterator[Piece]:
    arrow = ArrowJson()
    texts = not opts.schema  # a declared schema defines the record: its texts would be dropped (apply_schema)
    line0, row0 = 0, 0  # lines and records before the current chunk
    limit = opts.max_line_bytes
    for chunk in line_chunks(reader, limit):
        if isinstance(chunk, LongLine) or (len(chunk) > limit and chunk.count(b"\n") <= 1):
            size = chunk.size if isinstance(chunk, LongLine) else len(chunk)
            line0, row0 = line0 + 1, row0 + 1
            policy.bad(line0, f"line of {size} bytes is longer than max_line_bytes ({limit})")
            continue
        n_lines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        piece, n_records = (_fast(chunk, n_lines, line0, row0, arrow, texts)
                            or _slow(chunk, line0, row0, arrow, policy, texts))
        line0 += n_lines
        row0 += n_records
        if piece.table.num_rows:
            yield piece


FORMAT = Format("jsonl", (".ndjson", ".jsonl"), read_jsonl, aliases=("nd-json",))


def _nonblank_lines(chunk: bytes, n_lines: int) -> np.ndarray:
    """0-based indexes of the non-blank lines of a chunk."""
    tail_start = chunk.rfind(b"\n") + 1
    has_blank = (
        _BLANK_INSIDE.search(chunk) is not None
        or _BLANK_FIRST.match(chunk) is not None
        or (tail_start < len(chunk) and not chunk[tail_start:].strip())
    )
    if not has_blank:
        return np.arange(n_lines, dtype=np.int64)
    lines = chunk.split(b"\n")[:n_lines]
    return np.fromiter((i for i, ln in enumerate(lines) if ln.strip()), dtype=np.int64)


def _fast(chunk: bytes, n_lines: int, line0: int, row0: int, arrow: ArrowJson,
          texts: bool = True) -> tuple[Piece, int] | None:
    """The whole chunk through pyarrow; None when anything is off (the slow path decides)."""
    if not chunk.isascii():  # pyarrow lets some invalid UTF-8 through into string columns
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if _deeper_than(chunk, n_lines, _ARROW_MAX_DEPTH):
        return None
    try:
        table = arrow.parse(chunk)
    except (pa.ArrowException, UnicodeDecodeError, ValueError, RecursionError):
        return None
    good = _nonblank_lines(chunk, n_lines)
    # one object per non-blank line, else some line holds two objects / one spans lines
    if table.num_rows != len(good):
        return None
    if any(_has_huge_double(c) for c in table.columns) and _LONG_DIGITS.search(chunk):
        return None
    rows = np.arange(row0 + 1, row0 + 1 + len(good), dtype=np.int64)
    return Piece(table, rows, good + line0 + 1, texts=_record_texts(chunk, good, n_lines) if texts else None), len(good)


def _deeper_than(chunk: bytes, n_lines: int, limit: int) -> bool:
    """Whether brackets nest deeper than `limit` (brackets inside strings count too: an upper
    bound). Scanning costs about what pyarrow's parse does, so only chunks of long lines are
    scanned (a line nests at most half its length deep); a deep line among many short ones still
    takes pyarrow's slow parse, as it did before."""
    if len(chunk) <= 2 * limit * max(n_lines, 1):
        return False
    b = np.frombuffer(chunk, np.uint8)
    step = ((b == 123) | (b == 91)).astype(np.int8) - ((b == 125) | (b == 93)).astype(np.int8)
    return int(np.cumsum(step, dtype=np.int32).max(initial=0)) > limit


def _record_texts(chunk: bytes, good: np.ndarray, n_lines: int) -> pa.Array:
    """Each record's text as written: over the chunk, a value runs from the end of the previous
    record's line to the end of its own (blank lines before it ride along), then trimmed."""
    ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + 1
    if len(ends) < n_lines:  # the last line has no newline
        ends = np.append(ends, len(chunk))
    offsets = np.concatenate([np.zeros(1, np.int64), ends[good]]).astype(np.int32)
    spans = pa.StringArray.from_buffers(len(good), pa.py_buffer(offsets), pa.py_buffer(chunk))
    return pc.utf8_trim_whitespace(spans)


def _slow(chunk: bytes, line0: int, row0: int, arrow: ArrowJson, policy: Policy,
          texts: bool = True) -> tuple[Piece, int]:
    lines = chunk.split(b"\n")
    if chunk.endswith(b"\n"):
        lines.pop()
    good_text: list[bytes] = []
    good_objs: list[dict] = []
    rows: list[int] = []
    line_nos: list[int] = []
    exact_ints = False
    n_records = 0
    for i, raw in enumerate(lines):
        text = raw.strip()
        if not text:
            continue
        n_records += 1
        line_no = line0 + i + 1
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            obj = _with_nan(text)
            if obj is None:
                policy.bad(line_no, _json_reason(text, e))
                continue
        if not isinstance(obj, dict):
            policy.bad(line_no, f"not a JSON object (a JSON {_kind(obj)})")
            continue
        if _LONG_DIGITS.search(text):  # orjson turns integers beyond 64 bits into floats
            obj = json.loads(text)
            exact_ints = True
        good_text.append(text)
        good_objs.append(obj)
        rows.append(row0 + n_records)
        line_nos.append(line_no)
    table = None
    json_cols: frozenset[str] = frozenset()
    if good_text and not exact_ints:
        try:
            table = arrow.parse(b"\n".join(good_text))
            if table.num_rows != len(good_text):
                table = None
        except (pa.ArrowException, UnicodeDecodeError, ValueError, RecursionError):
            table = None
    if table is None:
        table, json_cols = table_from_records(good_objs)
    piece = Piece(table, np.array(rows, dtype=np.int64), np.array(line_nos, dtype=np.int64), json_text=json_cols,
                  texts=_texts(good_text) if texts else None)
    return piece, n_records


def _texts(lines: list[bytes]) -> pa.Array:
    try:
        return pa.array(lines, pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:  # not UTF-8 (e.g. a UTF-16 line json.loads accepted): keep what decodes
        return pa.array([ln.decode("utf-8", "replace") for ln in lines], pa.string())


def _with_nan(text: bytes):
    """A line with NaN / Infinity literals, which pyarrow's fast path reads as doubles; else None."""
    if b"NaN" not in text and b"Infinity" not in text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _kind(obj) -> str:
    if isinstance(obj, list):
        return "array"
    if isinstance(obj, str):
        return "string"
    if isinstance(obj, bool):
        return "boolean"
    if obj is None:
        return "null"
    return "number"
