"""Each format's round trip (records -> object bytes -> the engine's reader -> equal records), and
the bytes: the same records give the same bytes."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_pipelines.readers.records import PROVENANCE
from s3_pipelines.sinks.s3 import FORMATS, encode_window, get_format
from s3_pipelines.sinks.s3.formats import csv as csv_format

from .helpers import TRICKY_LINES, batches_of


def _bytes(batches, name, provenance=False) -> bytes:
    content = encode_window(batches, get_format(name), provenance)
    return content.body.read()


def _typed_rows(batches) -> list[dict]:
    rows = []
    for b in batches:
        rows.extend(b.select([n for n in b.schema.names if n not in PROVENANCE]).to_pylist())
    return rows


@pytest.mark.parametrize("name", ["ndjson.gz", "json", "json-doc"])
def test_json_formats_write_records_as_read(name):
    batches = batches_of(TRICKY_LINES, batch_rows=2)  # several batches, one window
    data = _bytes(batches, name)
    assert FORMATS[name].decode(data) == [json.loads(line) for line in TRICKY_LINES]
    text = (gzip.decompress(data) if name == "ndjson.gz" else data).decode()
    for line in TRICKY_LINES:  # byte for byte: key order, "1.50", the big integer, {} and []
        assert line in text
    if name == "json-doc":
        assert json.loads(text) == [json.loads(line) for line in TRICKY_LINES]
    else:
        assert text == "\n".join(TRICKY_LINES) + "\n"


@pytest.mark.parametrize("name", list(FORMATS))
def test_same_records_same_bytes(name):
    first = _bytes(batches_of(TRICKY_LINES), name)
    again = _bytes(batches_of(TRICKY_LINES, batch_rows=1), name)  # batching differs, records do not
    if name == "parquet":  # row groups follow the input batches' columns, not their sizes
        again = _bytes(batches_of(TRICKY_LINES), name)
    assert first == again


def test_gzip_has_no_time_and_no_name():
    data = _bytes(batches_of(TRICKY_LINES), "ndjson.gz")
    assert data[:3] == b"\x1f\x8b\x08"
    assert data[3] & 0x08 == 0  # FNAME flag not set
    assert data[4:8] == b"\0\0\0\0"  # MTIME 0


def test_csv_cells_header_and_first_seen_column_order():
    data = _bytes(batches_of(TRICKY_LINES, batch_rows=2), "csv")
    header = data.decode().split("\n", 1)[0]
    assert header == "id,name,tags,meta,extra,nested,price,big,flag"
    rows = FORMATS["csv"].decode(data)
    expected = [{k: csv_format.cell(v) for k, v in json.loads(line).items() if v is not None}
                for line in TRICKY_LINES]
    assert rows == expected
    assert rows[0]["tags"] == "[]" and rows[0]["meta"] == "{}" and rows[0]["name"] == "Zoë ☃ 😀"
    assert json.loads(rows[2]["nested"]) == {"list": [{"x": 1}, {}], "s": 'quote " and \\ and \n'}
    assert rows[3]["big"] == "12345678901234567890"
    assert rows[4] == {}  # the empty record is a row of empty cells


def test_parquet_keeps_types_and_round_trips():
    batches = batches_of(TRICKY_LINES)
    data = _bytes(batches, "parquet")
    assert FORMATS["parquet"].decode(data) == _typed_rows(batches)
    schema = pq.read_schema(io.BytesIO(data))
    assert "_s3_record" not in schema.names and not any(n.startswith("_s3_") for n in schema.names)
    assert pa.types.is_boolean(schema.field("flag").type)
    assert pa.types.is_list(schema.field("tags").type) or pa.types.is_string(schema.field("tags").type)


def test_parquet_column_whose_type_differs_between_batches_becomes_json_text():
    batches = batches_of(['{"a":1,"b":"x"}'], "one.jsonl") + batches_of(['{"a":"one","c":[1]}'], "two.jsonl")
    data = _bytes(batches, "parquet")
    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == ["a", "b", "c"]
    assert table.column("a").to_pylist() == ["1", '"one"']
    assert table.column("b").to_pylist() == ["x", None]


def test_provenance_columns_only_when_asked():
    batches = batches_of(TRICKY_LINES[:2], key="src/p.jsonl")
    plain = FORMATS["json"].decode(_bytes(batches, "json"))
    assert not any(k.startswith("_s3_") for r in plain for k in r)
    with_prov = FORMATS["json"].decode(_bytes(batches, "json", provenance=True))
    assert with_prov[0] == {**json.loads(TRICKY_LINES[0]), "_s3_bucket": None, "_s3_key": "src/p.jsonl",
                            "_s3_etag": None, "_s3_row": 1, "_s3_line": 1}
    table = pq.read_table(io.BytesIO(_bytes(batches, "parquet", provenance=True)))
    assert table.column("_s3_record").to_pylist() == TRICKY_LINES[:2]


CSV_SOURCE = ["id,name,score,when", "1,Zoë,1.5,2024-03-05T14:07:00Z", "2,,,2024-03-05T14:08:00Z"]


@pytest.mark.parametrize("name", ["ndjson.gz", "json", "json-doc"])
def test_json_formats_from_typed_rows_when_there_is_no_record_text(name):
    batches = batches_of(CSV_SOURCE, key="src/t.csv", fmt="csv")
    assert "_s3_record" not in batches[0].schema.names
    records = FORMATS[name].decode(_bytes(batches, name))
    assert [r["id"] for r in records] == [1, 2]
    assert records[0]["name"] == "Zoë" and records[1]["name"] is None
    assert records[0]["when"].startswith("2024-03-05")


def test_parquet_and_csv_from_a_csv_source():
    batches = batches_of(CSV_SOURCE, key="src/t.csv", fmt="csv")
    assert FORMATS["parquet"].decode(_bytes(batches, "parquet")) == _typed_rows(batches)
    rows = FORMATS["csv"].decode(_bytes(batches, "csv"))
    assert rows[0]["id"] == "1" and rows[0]["name"] == "Zoë" and "name" not in rows[1]


def test_unknown_format_is_named():
    with pytest.raises(ValueError, match="unknown destination format 'xml'"):
        get_format("xml")


def test_gzip_members_do_not_depend_on_write_sizes_and_read_back_whole():
    from s3_pipelines.sinks.s3.formats._gzip import ParallelGzip

    data = b"".join(b'{"n":%d,"s":"%s"}\n' % (i, b"abc" * (i % 50)) for i in range(60_000))
    outs = []
    for step in (len(data), 1000, 77_777):
        out = io.BytesIO()
        with ParallelGzip(out, member_bytes=1 << 20, threads=2) as z:
            for i in range(0, len(data), step):
                z.write(data[i:i + step])
        outs.append(out.getvalue())
    assert outs[0] == outs[1] == outs[2]
    assert outs[0].count(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff") >= 3  # several members
    assert gzip.decompress(outs[0]) == data
    assert len(FORMATS["ndjson.gz"].decode(outs[0])) == 60_000  # the engine's reader reads every member


def test_gzip_level_is_a_choice_of_the_destination():
    from s3_pipelines.sinks.s3 import DestinationSpec

    batches = batches_of(TRICKY_LINES * 50)
    fast = encode_window(batches, get_format("ndjson.gz"), False, level=1).body.read()
    assert fast != _bytes(batches, "ndjson.gz")
    assert FORMATS["ndjson.gz"].decode(fast) == [json.loads(line) for line in TRICKY_LINES * 50]
    assert DestinationSpec("d", "p/", "ndjson.gz", compression_level=1).compression_level == 1
    with pytest.raises(ValueError, match="format csv takes no compression level 3"):
        DestinationSpec("d", "p/", "csv", compression_level=3)
    with pytest.raises(ValueError, match=r"levels 1-9"):
        DestinationSpec("d", "p/", "ndjson.gz", compression_level=12)
