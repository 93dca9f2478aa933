import json

import pyarrow as pa

from s3_pipelines.config.models import ColumnSpec

from .helpers import col, data_rows, read_bytes

META = {"_airbyte_raw_id": "r", "_airbyte_extracted_at": "2024-01-01T00:00:00Z", "_airbyte_meta": {"changes": []}}


def jsonl(*records) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def test_wrapped_records_are_unwrapped_metadata_last(tmp_path):
    data = jsonl({**META, "_airbyte_data": {"id": 1, "name": "a"}}, {**META, "_airbyte_data": {"id": 2, "name": "b"}})
    t, bad = read_bytes(tmp_path, "a.jsonl", data, envelope="airbyte")
    assert bad == []
    assert t.column_names[:5] == ["id", "name", "_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta"]
    assert col(t, "id") == [1, 2] and col(t, "_airbyte_raw_id") == ["r", "r"]


def test_missing_airbyte_data_in_a_wrapped_file_is_a_bad_record(tmp_path):
    data = jsonl({**META, "_airbyte_data": {"id": 1}}, META, {**META, "_airbyte_data": {"id": 3}})
    t, bad = read_bytes(tmp_path, "a.jsonl", data, envelope="airbyte")
    assert [(b.line, b.reason) for b in bad] == [(2, "missing _airbyte_data")]
    assert col(t, "id") == [1, 3] and col(t, "_s3_row") == [1, 3]


def test_conflicting_field_types_inside_airbyte_data_only_affect_that_field(tmp_path):
    data = jsonl({"_airbyte_data": {"id": 1, "v": 1}}, {"_airbyte_data": {"id": 2, "v": {"x": 1}}})
    t, _ = read_bytes(tmp_path, "a.jsonl", data, envelope="airbyte")
    assert col(t, "id") == [1, 2] and col(t, "v") == ["1", '{"x":1}']


def test_csv_airbyte_data_as_json_text(tmp_path):
    data = b'_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data\nx1,1700000000000,"{""id"": 7, ""tags"": [""a""]}"\nx2,1700000000001,"[1]"\n'
    t, bad = read_bytes(tmp_path, "a.csv", data, envelope="airbyte")
    assert [(b.line, b.reason) for b in bad] == [(3, "_airbyte_data is not a JSON object")]
    assert data_rows(t) == [{"id": 7, "tags": ["a"], "_airbyte_ab_id": "x1", "_airbyte_emitted_at": 1700000000000}]


def test_flattened_records_keep_columns_and_metadata(tmp_path):
    data = jsonl({"_airbyte_raw_id": "r", "id": 1, "name": "a"})
    t, _ = read_bytes(tmp_path, "a.jsonl", data, envelope="airbyte")
    assert t.column_names[:3] == ["id", "name", "_airbyte_raw_id"]


def test_declared_schema_over_unwrapped_fields_keeps_metadata(tmp_path):
    data = jsonl({**META, "_airbyte_data": {"id": "5", "junk": 1}})
    t, _ = read_bytes(tmp_path, "a.parquet.jsonl", data, envelope="airbyte", schema=(ColumnSpec(name="id", type="long"),))
    assert t.column_names[:4] == ["id", "_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta"]
    assert col(t, "id") == [5] and t.schema.field("id").type == pa.int64()


def test_parquet_struct_envelope(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "src.parquet"
    pq.write_table(pa.table({"_airbyte_raw_id": ["a", "b"], "_airbyte_data": [{"x": 1}, None]}), path)
    t, bad = read_bytes(tmp_path, "a.parquet", path.read_bytes(), envelope="airbyte")
    assert [(b.line, b.reason) for b in bad] == [(2, "missing _airbyte_data")]
    assert data_rows(t) == [{"x": 1, "_airbyte_raw_id": "a"}]
