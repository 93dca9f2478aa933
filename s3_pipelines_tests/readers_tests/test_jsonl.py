import datetime as dt

import pyarrow as pa
import pytest

from s3_pipelines.objects import BadRecordError, ObjectError, S3Object
from s3_pipelines.readers import jsonl

from .helpers import col, data_rows, read_batches_of, read_bytes


def test_clean_lines_keep_values_types_and_provenance(tmp_path):
    obj = S3Object("bkt", "in/a.jsonl", "etag1", 10, dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    data = b'{"id": 1, "name": "x", "v": 1.5, "ok": true}\n{"id": 2, "name": "y", "v": 2.0, "ok": false}\n'
    t, bad = read_bytes(tmp_path, "in/a.jsonl", data, provenance=obj)
    assert bad == []
    assert data_rows(t) == [
        {"id": 1, "name": "x", "v": 1.5, "ok": True},
        {"id": 2, "name": "y", "v": 2.0, "ok": False},
    ]
    assert t.schema.field("id").type == pa.int64()
    assert t.column_names[-5:] == ["_s3_bucket", "_s3_key", "_s3_etag", "_s3_row", "_s3_line"]
    assert col(t, "_s3_bucket") == ["bkt", "bkt"]
    assert col(t, "_s3_key") == ["in/a.jsonl"] * 2
    assert col(t, "_s3_etag") == ["etag1"] * 2
    assert col(t, "_s3_row") == [1, 2]
    assert col(t, "_s3_line") == [1, 2]


def test_without_provenance_bucket_and_etag_are_null(tmp_path):
    t, _ = read_bytes(tmp_path, "k.jsonl", b'{"a": 1}\n')
    assert col(t, "_s3_bucket") == [None] and col(t, "_s3_etag") == [None] and col(t, "_s3_key") == ["k.jsonl"]
    assert t.schema.field("_s3_bucket").type == pa.string()


@pytest.mark.parametrize("chunk", [40, 64, 1000, 8 << 20])
def test_line_numbers_exact_with_blank_and_bad_lines_across_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", chunk)
    lines = []
    expect_good, expect_bad = [], []
    record = 0
    for i in range(1, 301):
        if i % 7 == 0:
            lines.append(b"   " if i % 2 else b"")  # blank: not a record
            continue
        record += 1
        if i % 11 == 0:
            lines.append(b'{"n": %d, broken' % i)
            expect_bad.append(i)
        else:
            lines.append(b'{"n": %d}' % i)
            expect_good.append((i, record))
    t, bad = read_bytes(tmp_path, "x.jsonl", b"\r\n".join(lines) + b"\r\n")
    assert [b.line for b in bad] == expect_bad
    assert all(b.reason.startswith("not valid JSON") for b in bad)
    assert col(t, "n") == [i for i, _ in expect_good]
    assert col(t, "_s3_line") == [i for i, _ in expect_good]
    assert col(t, "_s3_row") == [r for _, r in expect_good]


def test_bom_crlf_and_missing_final_newline(tmp_path):
    t, bad = read_bytes(tmp_path, "a.jsonl", b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}')
    assert bad == [] and col(t, "a") == [1, 2] and col(t, "_s3_line") == [1, 2]


def test_scalars_arrays_and_invalid_utf8_are_bad_records(tmp_path):
    data = b'{"a": 1}\n[1, 2]\n5\n"s"\n{"a": "\xff"}\n{"a": 3}\n'
    t, bad = read_bytes(tmp_path, "a.jsonl", data)
    assert [(b.line, b.reason) for b in bad] == [
        (2, "not a JSON object (a JSON array)"),
        (3, "not a JSON object (a JSON number)"),
        (4, "not a JSON object (a JSON string)"),
        (5, "not valid UTF-8 at byte 8"),
    ]
    assert col(t, "a") == [1, 3]
    assert col(t, "_s3_row") == [1, 6]


def test_error_reason_names_the_column(tmp_path):
    _, bad = read_bytes(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": 1,, }\n')
    assert bad[0].line == 2 and "at column 9" in bad[0].reason and bad[0].key == "a.jsonl"


def test_conflicting_nested_types_become_json_text_for_that_batch(tmp_path):
    t, bad = read_bytes(tmp_path, "a.jsonl", b'{"a": 1, "b": "x"}\n{"a": {"b": 2}, "b": "y"}\n')
    assert bad == []
    assert col(t, "a") == ["1", '{"b":2}']
    assert col(t, "b") == ["x", "y"]


def test_integers_beyond_int64_keep_their_digits(tmp_path):
    t, _ = read_bytes(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": 123456789012345678901234}\n')
    assert col(t, "a") == ["1", "123456789012345678901234"]
    t, _ = read_bytes(tmp_path, "b.jsonl", b'{"a": 9223372036854775807}\n')
    assert col(t, "a") == [9223372036854775807]  # still fits int64: stays a number


def test_timestamp_like_strings_stay_strings_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", 60)
    lines = [b'{"id": %d, "ts": "2024-01-0%dT10:00:00+02:00", "n": {"d": "2024-01-01"}, "z": 1}' % (i, i) for i in range(1, 6)]
    t, _ = read_bytes(tmp_path, "a.jsonl", b"\n".join(lines))
    assert t.column_names[:4] == ["id", "ts", "n", "z"]
    assert col(t, "ts")[0] == "2024-01-01T10:00:00+02:00"
    assert col(t, "n")[0] == {"d": "2024-01-01"}


def test_null_column_keeps_earlier_type_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", 16)
    batches, _ = read_batches_of(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": null}\n{"a": 2.5}\n{"a": 3}\n')
    types = [b.schema.field("a").type for b in batches]
    assert types == [pa.int64(), pa.int64(), pa.float64(), pa.float64()]
    assert [b.column("a").to_pylist() for b in batches] == [[1], [None], [2.5], [3.0]]


def test_batch_rows_bounds_output_batches(tmp_path):
    data = b"".join(b'{"i": %d}\n' % i for i in range(1000))
    batches, _ = read_batches_of(tmp_path, "a.jsonl", data, batch_rows=300)
    assert max(b.num_rows for b in batches) <= 300
    assert sum(b.num_rows for b in batches) == 1000


def test_policies(tmp_path):
    data = b'{"a": 1}\nbad\n{"a": 2}\nworse\n'
    with pytest.raises(BadRecordError) as e:
        read_bytes(tmp_path, "a.jsonl", data, on_error="fail")
    assert e.value.line == 2 and e.value.key == "a.jsonl"
    with pytest.raises(BadRecordError):
        read_bytes(tmp_path, "a.jsonl", data, on_error="skip_file")
    with pytest.raises(ObjectError, match="more than 1 bad records") as e:
        read_bytes(tmp_path, "a.jsonl", data, max_errors=1)
    assert e.value.line == 4 and not isinstance(e.value, BadRecordError)
    t, bad = read_bytes(tmp_path, "a.jsonl", data, max_errors=2)
    assert len(bad) == 2 and col(t, "a") == [1, 2]


def test_csv_named_jsonl_gives_bad_records_not_a_crash(tmp_path):
    t, bad = read_bytes(tmp_path, "a.jsonl", b"a,b\n1,2\n3,4\n")
    assert t is None
    assert [b.line for b in bad] == [1, 2, 3]
    with pytest.raises(BadRecordError):
        read_bytes(tmp_path, "a.jsonl", b"a,b\n1,2\n", on_error="fail")


def test_empty_object_yields_nothing(tmp_path):
    assert read_bytes(tmp_path, "a.jsonl", b"") == (None, [])
    assert read_bytes(tmp_path, "a.jsonl", b"\n\n  \n") == (None, [])


def test_empty_objects_are_rows(tmp_path):
    t, _ = read_bytes(tmp_path, "a.jsonl", b"{}\n{}\n")
    assert t.num_rows == 2 and col(t, "_s3_row") == [1, 2]
