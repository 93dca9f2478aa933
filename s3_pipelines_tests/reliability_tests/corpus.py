"""Hostile objects, each beside a good object of the same format in one partition, and what the
engine must make of them. Used by test_corpus.py (one test per case)."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

GOOD_ROWS = 3


def good_object(fmt: str) -> tuple[str, bytes]:
    """A clean object of `fmt` with GOOD_ROWS rows (ids 1..3)."""
    rows = [{"id": i, "name": f"n{i}"} for i in range(1, GOOD_ROWS + 1)]
    if fmt == "jsonl":
        return "in/good.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    if fmt == "csv":
        return "in/good.csv", b"id,name\n" + b"".join(f"{r['id']},{r['name']}\n".encode() for r in rows)
    if fmt == "json":
        return "in/good.json", json.dumps(rows).encode()
    if fmt == "parquet":
        return "in/good.parquet", parquet_bytes(pa.Table.from_pylist(rows))
    raise ValueError(fmt)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def gzip_bomb(decompressed: int) -> bytes:
    """`decompressed` zero bytes gzipped (about 1000:1), built in pieces."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"0" * (1 << 20)
    out = [c.compress(block) for _ in range(decompressed >> 20)]
    return b"".join(out) + c.flush()


def nested(depth: int) -> bytes:
    return b'{"id": 9, "deep": ' + b"[" * depth + b"]" * depth + b"}"


def lines(*items: bytes | str, end: bytes = b"\n") -> bytes:
    return b"".join((i.encode() if isinstance(i, str) else i) + end for i in items)


@dataclass
class Case:
    id: str
    key: str
    body: bytes
    good: str = "jsonl"  # format of the good object beside it
    stream: dict = field(default_factory=dict)  # stream options (format defaults to auto)
    status: str = "loaded"  # ledger status of the hostile object
    rows: int | None = None  # rows loaded from it (status loaded)
    error: str | None = None  # in the ledger error (with the key)
    line: int | None = None  # named in the error ("line N")
    bad_lines: list[int | None] = field(default_factory=list)  # bad records kept for it, by line
    bad_reason: str | None = None  # in the first bad record's reason
    check: bool | None = None  # parse_errors check passes? (default: no error and no bad records)
    columns: dict | None = None  # column -> expected values of the loaded rows


GZ_LINES = gzip.compress(lines(*[json.dumps({"id": i, "pad": "x" * 50}) for i in range(2000)]))
PARQUET = parquet_bytes(pa.table({"id": list(range(100)), "name": [f"n{i}" for i in range(100)]}))

CASES = [
    # --- compression ----------------------------------------------------------------------------
    Case("truncated_gzip", "in/cut.jsonl.gz", GZ_LINES[: len(GZ_LINES) // 2], status="failed",
         error="truncated or corrupt gzip stream"),
    Case("gzip_trailing_garbage", "in/garbage.jsonl.gz", GZ_LINES + b"not gzip at all", status="failed",
         error="corrupt gzip"),
    Case("gzip_bomb", "in/bomb.jsonl.gz", gzip_bomb(64 << 20), stream={"max_decompressed_bytes": 8 << 20},
         status="failed", error=f"decompressed size exceeds {8 << 20} bytes"),
    Case("truncated_zstd", "in/cut.jsonl.zst",
         zstandard.ZstdCompressor().compress(lines(*[json.dumps({"id": i}) for i in range(5000)]))[:-40],
         status="failed", error="truncated or corrupt zstd stream"),
    Case("gzip_named_plain", "in/zipped.jsonl", gzip.compress(lines('{"id": 1}', '{"id": 2}')), rows=2),
    # --- text encodings and line ends -----------------------------------------------------------
    Case("invalid_utf8_jsonl", "in/latin1.jsonl", lines('{"id": 1}', b'{"id": 2, "name": "caf\xe9"}', '{"id": 3}'),
         rows=2, bad_lines=[2], bad_reason="not valid UTF-8"),
    Case("invalid_utf8_csv", "in/latin1.csv", lines("id,name", "1,a", b"2,caf\xe9", "3,c"), good="csv",
         rows=2, bad_lines=[3], bad_reason="UTF-8"),
    Case("bom_jsonl", "in/bom.jsonl", b"\xef\xbb\xbf" + lines('{"id": 1}', '{"id": 2}'), rows=2,
         columns={"id": [1, 2]}),
    Case("bom_csv", "in/bom.csv", b"\xef\xbb\xbf" + lines("id,name", "1,a", "2,b"), good="csv", rows=2,
         columns={"id": [1, 2], "name": ["a", "b"]}),
    Case("mixed_line_endings_jsonl", "in/mixed.jsonl", b'{"id": 1}\r\n{"id": 2}\n{"id": 3}\r\n\n{"id": 4}', rows=4,
         columns={"id": [1, 2, 3, 4], "_s3_line": [1, 2, 3, 5]}),
    Case("mixed_line_endings_csv", "in/mixed.csv", b"id,name\r\n1,a\n2,b\r\n3,c", good="csv", rows=3,
         columns={"name": ["a", "b", "c"], "_s3_line": [2, 3, 4]}),
    # --- CSV structure --------------------------------------------------------------------------
    Case("ragged_csv_rows", "in/ragged.csv", lines("id,name", "1,a", "2,b,extra", "3", "4,d"), good="csv",
         rows=2, bad_lines=[3, 4], bad_reason="expected 2 columns"),
    Case("quoted_newlines_csv", "in/quoted.csv", lines("id,note", '1,"two\nlines"', '2,"three\nmore\nlines"', "3,x"),
         good="csv", rows=3, columns={"note": ["two\nlines", "three\nmore\nlines", "x"], "_s3_line": [2, 4, 7]}),
    Case("unterminated_quote_csv", "in/open_quote.csv", lines("id,note", "1,a", '2,"never closed', "3,c"),
         good="csv", status="failed", error="never closed", line=3),
    Case("header_only_csv", "in/header.csv", lines("id,name"), good="csv", rows=0),
    # --- JSON -----------------------------------------------------------------------------------
    Case("duplicate_json_keys", "in/dup.jsonl", lines('{"id": 1, "v": "first", "v": "last"}', '{"id": 2, "v": "x"}'),
         rows=2, columns={"v": ["last", "x"]}),
    Case("nested_10000_jsonl", "in/deep.jsonl", lines('{"id": 1}', nested(10_000), '{"id": 3}'),
         rows=2, bad_lines=[2], bad_reason="not valid JSON"),
    Case("nested_10000_json_document", "in/deep.json", b"[" + nested(10_000) + b"]", good="json",
         status="failed", error="in/deep.json"),
    Case("nan_infinity_jsonl", "in/nan.jsonl", lines('{"id": 1, "x": 1.5}', '{"id": 2, "x": NaN}',
                                                    '{"id": 3, "x": Infinity}', '{"id": 4, "x": -Infinity}'),
         rows=4, columns={"x": ["1.5", "nan", "inf", "-inf"]}),
    # the same lines next to a bad one (the line-by-line path) load the same way
    Case("nan_beside_a_bad_line", "in/nan_bad.jsonl", lines('{"id": 1, "x": NaN}', "{oops", '{"id": 3, "x": 2.5}'),
         rows=2, bad_lines=[2], bad_reason="not valid JSON", columns={"x": ["nan", "2.5"]}),
    Case("nan_infinity_csv", "in/nan.csv", lines("id,x", "1,1.5", "2,NaN", "3,inf", "4,-inf"), good="csv", rows=4),
    Case("big_integer_ids", "in/big.jsonl", lines('{"id": 9007199254740993}', '{"id": 18446744073709551617}'),
         rows=2, columns={"id": ["9007199254740993", "18446744073709551617"]}),
    Case("truncated_json_document", "in/cut.json", b'[{"id": 1}, {"id": 2}, {"id": ', good="json",
         status="failed", error="in/cut.json"),
    Case("scalars_in_jsonl", "in/scalars.jsonl", lines('{"id": 1}', "42", '"text"', "[1,2]", '{"id": 5}'),
         rows=2, bad_lines=[2, 3, 4], bad_reason="not a JSON object"),
    Case("nul_bytes_jsonl", "in/nul.jsonl", lines('{"id": 1}', b'{"id": 2\x00}', '{"id": 3}'),
         rows=2, bad_lines=[2]),
    # --- empty ----------------------------------------------------------------------------------
    Case("zero_byte_object", "in/empty.jsonl", b"", rows=0),
    Case("empty_gzip_object", "in/empty.jsonl.gz", gzip.compress(b""), rows=0),
    Case("whitespace_only_object", "in/blank.jsonl", b"\n\n  \n", rows=0),
    Case("empty_json_object_record", "in/empty_record.jsonl", lines("{}", '{"id": 2}'), rows=2),
    # --- wrong names and formats ------------------------------------------------------------------
    Case("csv_named_jsonl", "in/actually.jsonl", lines("id,name", "1,a"), rows=0, bad_lines=[1, 2],
         bad_reason="not valid JSON"),
    Case("parquet_named_json", "in/table.json", PARQUET, good="json", status="failed", error="in/table.json"),
    Case("unknown_extension_sniffed", "in/data.txt", lines('{"id": 1}', '{"id": 2}'), rows=2),
    # --- Parquet --------------------------------------------------------------------------------
    Case("corrupt_parquet_footer", "in/broken.parquet", PARQUET[:-12] + b"\x00" * 8 + b"PAR1", good="parquet",
         status="failed", error="Parquet"),
    Case("truncated_parquet", "in/short.parquet", PARQUET[: len(PARQUET) // 2], good="parquet",
         status="failed", error="Parquet"),
    Case("parquet_unexpected_schema", "in/other.parquet",
         parquet_bytes(pa.table({"id": ["a", "2"], "extra": [1.5, 2.5]})), good="parquet",
         stream={"schema": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]},
         rows=1, bad_lines=[1], bad_reason="id", columns={"id": [2], "name": [None]}),
    # --- policies -------------------------------------------------------------------------------
    Case("skip_file_policy", "in/one_bad.jsonl", lines('{"id": 1}', "{oops", '{"id": 3}'),
         stream={"on_error": "skip_file"}, status="skipped", error="line 2", line=2, bad_lines=[2]),
    Case("max_errors_exceeded", "in/many_bad.jsonl", lines(*(["{bad"] * 5), '{"id": 6}'),
         stream={"max_errors": 3}, status="failed", error="more than 3 bad records", line=4, bad_lines=[1, 2, 3]),
    Case("declared_schema_uncastable", "in/typed.csv", lines("id,name", "1,a", "two,b", "3,c"), good="csv",
         stream={"schema": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]},
         rows=2, bad_lines=[3], bad_reason="id"),
    # --- keys -----------------------------------------------------------------------------------
    Case("unicode_and_spaces_in_key", "in/dossier été/naïve file 📦.jsonl", lines('{"id": 1}'), rows=1),
    Case("dot_dot_in_key", "in/../../../etc/escape.jsonl", lines('{"id": 1}', '{"id": 2}'), rows=2),
]
