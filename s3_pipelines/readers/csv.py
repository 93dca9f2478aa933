"""CSV through pyarrow's streaming reader, every column read as text (types are decided later per
batch, so a column that looks numeric early and holds text later loses nothing).

Line numbers are exact: pyarrow numbers rows (accepted and rejected), and each row spans one line
plus the newlines inside its quoted values. `skip_lines` counts physical lines before the header.
Rows whose fields are all empty (blank lines included) are skipped and are not records.
Empty cells are null; a quoted empty cell ("") is an empty string.
"""

from __future__ import annotations

import csv as pycsv
import io
from dataclasses import replace
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..objects import ObjectError
from .base import Format, Policy, ReadOptions
from .compression import ChunkReader
from .records import Piece

CSV_BLOCK_BYTES = 4 << 20  # pyarrow block size; tests shrink it to cross block edges
HEAD_BYTES = 1 << 20  # bytes sniffed for the header / column count
BOM = b"\xef\xbb\xbf"


def _skip_lines(reader: ChunkReader, n: int) -> int:
    skipped, want = 0, 4096
    while skipped < n:
        head = reader.peek(want)
        nl = head.find(b"\n")
        if nl < 0:
            if len(head) < want:  # last line, no newline
                reader.skip(len(head))
                return skipped + (1 if head else 0)
            want *= 2
            continue
        reader.skip(nl + 1)
        skipped += 1
    return skipped


def _first_record(head: bytes, delimiter: str, quote_char: str) -> list[str] | None:
    text = head.decode("utf-8", errors="replace")
    rows = pycsv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote_char)
    for row in rows:
        if row:  # the csv module yields [] for blank lines
            return row
    return None


def read_csv(reader: ChunkReader, key: str, policy: Policy, opts: ReadOptions) -> Iterator[Piece]:
    o = opts.csv
    if reader.peek(3) == BOM:
        reader.skip(3)
    line = _skip_lines(reader, o.skip_lines) + 1  # line where the next row starts
    head = reader.peek(HEAD_BYTES)
    # leading blank lines before the header are lines too
    stripped = head.lstrip(b"\r\n")
    line += head[: len(head) - len(stripped)].count(b"\n")
    reader.skip(len(head) - len(stripped))
    first = _first_record(stripped, o.delimiter, o.quote_char)
    if first is None:
        return
    if o.has_headers:
        names, line = first, line + 1 + sum(f.count("\n") for f in first)
    else:
        names = list(o.column_names) if o.column_names else [f"f{i}" for i in range(len(first))]

    rejected: dict[int, tuple[str, int, int]] = {}  # data row index -> (text, expected, actual)
    header_rows = 1 if o.has_headers else 0

    def on_invalid(row) -> str:
        rejected[(row.number or 0) - header_rows] = (row.text or "", row.expected_columns, row.actual_columns)
        return "skip"

    tail = _Tail(reader)
    try:
        stream = pacsv.open_csv(
            tail,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=CSV_BLOCK_BYTES,
                column_names=None if o.has_headers else names,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=o.delimiter,
                quote_char=o.quote_char,
                newlines_in_values=True,
                ignore_empty_lines=False,  # keeps line numbering exact; blank rows dropped below
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.binary() for n in names},  # UTF-8 checked per row below
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as e:
        raise ObjectError(key, f"CSV cannot be parsed: {str(e)[:300]}") from None
    numbering = _Numbering(line, policy, rejected)
    last_value, last_line = None, None  # last cell of the last row, and that row's line
    while True:
        try:
            batch = stream.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as e:
            raise ObjectError(key, f"CSV cannot be parsed: {str(e)[:300]}") from None
        if batch.num_rows:
            last_value = batch.column(batch.num_columns - 1)[-1].as_py()
            piece = numbering.place(pa.Table.from_batches([batch]))
            last_line = int(piece.lines[-1]) if len(piece.lines) else None
            piece = _utf8(piece, policy)
            if piece.table.num_rows:
                yield replace(piece, raw_text=frozenset(names))
    rows_after = any(k <= 0 or k >= numbering.next_k for k in rejected)  # rejected rows after the last one
    if not rows_after and _unclosed_quote(last_value, tail.tail, o.quote_char.encode()):
        raise ObjectError(key, "a quoted value opened in the last row is never closed: it runs to the end of "
                               "the object, taking every line after it", last_line)
    numbering.finish()


FORMAT = Format("csv", (".csv", ".tsv"), read_csv)


class _Tail:
    """Passes reads through, keeping the last TAIL_BYTES read (to look at how the data ended)."""

    TAIL_BYTES = 1 << 20

    def __init__(self, reader: ChunkReader):
        self.reader, self.tail, self.closed = reader, b"", False

    def read(self, n: int = -1) -> bytes:
        data = self.reader.read(n)
        if data:
            self.tail = data[-self.TAIL_BYTES:] if len(data) >= self.TAIL_BYTES else (self.tail + data)[-self.TAIL_BYTES:]
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _unclosed_quote(value: bytes | None, tail: bytes, quote: bytes) -> bool:
    """pyarrow ends a quoted value left open at the end of the data without a word, the rest of
    the object inside it. Seen from the raw end: a value holding a newline must have been quoted,
    so the data must end with the closing quote; a one-line value must not be the raw end preceded
    by its opening quote."""
    if not value:
        return False
    if b"\n" in value:
        return not tail.rstrip(b"\r\n").endswith(quote)
    opened = quote + value.replace(quote, quote + quote)
    return len(opened) <= len(tail) and tail.endswith(opened)


class _Numbering:
    """Gives accepted rows their ordinal and start line, and reports rejected rows in order."""

    def __init__(self, line: int, policy: Policy, rejected: dict):
        self.next_k, self.next_line, self.blanks = 1, line, 0
        self.policy, self.rejected = policy, rejected

    def _report(self, k: int, line: int | None) -> None:
        text, expected, actual = self.rejected.pop(k)
        self.policy.bad(line, f"expected {expected} columns, got {actual}")

    def place(self, table: pa.Table) -> Piece:
        n, k0 = table.num_rows, self.next_k
        pending = np.array(sorted(self.rejected), dtype=np.int64)
        pending = pending[pending >= k0]  # a row pyarrow could not number waits for finish()
        cand = np.arange(k0, k0 + n + len(pending), dtype=np.int64)
        acc = cand[~np.isin(cand, pending)][:n]
        last = int(acc[-1])
        rej = pending[pending < last]
        heights = np.ones(last - k0 + 1, dtype=np.int64)
        heights[acc - k0] += _newlines_per_row(table)
        for k in rej:
            heights[k - k0] += self.rejected[int(k)][0].count("\n")
        starts = self.next_line + np.concatenate(([0], np.cumsum(heights)[:-1]))
        blank = _all_null(table)
        blank_span = np.zeros(len(heights), dtype=np.int64)
        blank_span[acc - k0] = blank
        ordinals = np.arange(k0, last + 1, dtype=np.int64) - (self.blanks + np.cumsum(blank_span))
        for k in rej:
            self._report(int(k), int(starts[k - k0]))
        self.next_k, self.next_line = last + 1, int(starts[-1] + heights[-1])
        self.blanks += int(blank_span.sum())
        keep = ~blank
        return Piece(table, ordinals[acc - k0], starts[acc - k0]).keep(keep)

    def finish(self) -> None:
        for k in sorted(self.rejected):
            text = self.rejected[k][0]
            self._report(k, self.next_line if k >= self.next_k else None)
            self.next_line += 1 + text.count("\n") if k >= self.next_k else 0


def _utf8(piece: Piece, policy: Policy) -> Piece:
    """Binary cells -> strings; a row with invalid UTF-8 is a bad record, not a failed object."""
    table = piece.table
    arrays, bad = [], np.zeros(table.num_rows, dtype=bool)
    reasons: dict[int, str] = {}
    for name, col in zip(table.column_names, table.columns):
        try:
            arrays.append(col.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        values = []
        for i, v in enumerate(col.to_pylist()):
            try:
                values.append(None if v is None else v.decode("utf-8"))
            except UnicodeDecodeError as e:
                values.append(None)
                bad[i] = True
                reasons.setdefault(i, f"column {name}: not valid UTF-8 at byte {e.start + 1}")
        arrays.append(pa.array(values, pa.string()))
    for i in sorted(reasons):
        policy.bad(piece.where(i), reasons[i])
    return replace(piece, table=pa.Table.from_arrays(arrays, names=table.column_names)).keep(~bad)


def _newlines_per_row(table: pa.Table) -> np.ndarray:
    total = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        counts = pc.fill_null(pc.count_substring(col, "\n"), 0)
        total += counts.to_numpy()
    return total


def _all_null(table: pa.Table) -> np.ndarray:
    mask = np.ones(table.num_rows, dtype=bool)
    for col in table.columns:
        mask &= col.is_null().to_numpy()
    return mask
