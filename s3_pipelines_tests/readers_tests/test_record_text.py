"""Every format keeps each record as the source wrote it: JSON formats stage the record's exact text
(`_s3_record`) beside Parquet-storable typed columns (empty objects at any depth included); CSV and
Parquet rows are their records (Parquet maps become objects); the Airbyte envelope's record is
`_airbyte_data` plus the `_airbyte_*` metadata."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from s3_pipelines.mapping.records import batch_records
from s3_pipelines.readers import RECORD_COLUMN
from s3_pipelines.readers.options import ColumnSpec

from .helpers import read_bytes

OKTA_USER = {"id": "00u1", "status": "ACTIVE", "credentials": {"password": {}, "emails": [],
             "provider": {"type": "OKTA", "name": "OKTA"}}, "profile": {"login": "a@x", "mobilePhone": None},
             "_links": {"self": {"href": "https://x"}}, "type": {"id": "oty1"}}


def _staged(table: pa.Table) -> pa.Table:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return pq.read_table(io.BytesIO(buf.getvalue()))


def _records(table: pa.Table) -> list[dict]:
    return batch_records(_staged(table))[0]


def test_jsonl_empty_objects_stage_and_come_back_exact(tmp_path):
    lines = [json.dumps(OKTA_USER), '{"id":"00u2","credentials":{"provider":{}},"e":[{}],"l":[null],"x":{"y":{}}}',
             '{"id":"00u3"}']
    t, bad = read_bytes(tmp_path, "users.jsonl", ("\n".join(lines) + "\n").encode())
    assert bad == []
    assert t.column(RECORD_COLUMN).to_pylist() == lines
    assert _records(t) == [json.loads(x) for x in lines]


def test_blank_lines_and_crlf_are_not_part_of_the_record_text(tmp_path):
    t, _ = read_bytes(tmp_path, "a.jsonl", b'\n{"a": {}}\r\n\n  \n{"b": [ ]}  \r\n')
    assert t.column(RECORD_COLUMN).to_pylist() == ['{"a": {}}', '{"b": [ ]}']
    assert t.column("_s3_line").to_pylist() == [2, 5]


def test_json_document_records_keep_their_shape(tmp_path):
    doc = [{"a": {}, "b": 1}, {"c": {"d": {}}, "e": []}, {}]
    t, bad = read_bytes(tmp_path, "a.json", json.dumps(doc).encode())
    assert bad == [] and _records(t) == doc


def test_airbyte_envelope_record_is_data_plus_metadata(tmp_path):
    lines = [{"_airbyte_raw_id": "r1", "_airbyte_extracted_at": 1, "_airbyte_data": {"id": 1, "creds": {"pw": {}}}},
             {"_airbyte_raw_id": "r2", "_airbyte_extracted_at": 2, "_airbyte_data": {"name": "x"}}]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    t, bad = read_bytes(tmp_path, "a.jsonl", data, envelope="airbyte")
    assert bad == []
    assert _records(t) == [{"id": 1, "creds": {"pw": {}}, "_airbyte_raw_id": "r1", "_airbyte_extracted_at": 1},
                           {"name": "x", "_airbyte_raw_id": "r2", "_airbyte_extracted_at": 2}]


def test_parquet_maps_become_objects_and_csv_rows_are_records(tmp_path):
    table = pa.table({"id": [1, 2], "attrs": pa.array([[("k", "v")], []], pa.map_(pa.string(), pa.string())),
                      "s": pa.array([{"a": 1}, None], pa.struct([("a", pa.int64())]))})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    t, bad = read_bytes(tmp_path, "a.parquet", buf.getvalue())
    assert bad == [] and RECORD_COLUMN not in t.column_names
    assert _records(t) == [{"id": 1, "attrs": {"k": "v"}, "s": {"a": 1}}, {"id": 2, "attrs": {}, "s": None}]
    c, _ = read_bytes(tmp_path, "a.csv", b"id,name\n1,x\n2,\n")
    assert RECORD_COLUMN not in c.column_names and _records(c) == [{"id": 1, "name": "x"}, {"id": 2, "name": None}]


def test_a_declared_schema_defines_the_record(tmp_path):
    t, _ = read_bytes(tmp_path, "a.jsonl", b'{"a": "1", "b": {}}\n', schema=_schema())
    assert RECORD_COLUMN not in t.column_names and _records(t) == [{"a": 1}]


def _schema():
    return (ColumnSpec(name="a", type="long"),)
