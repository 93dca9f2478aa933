import pytest

from s3_pipelines.objects import BadRecordError, ObjectError

from .helpers import col, data_rows, read_batches_of, read_bytes


def test_array_of_objects_streams_in_batches(tmp_path):
    data = b"[" + b",".join(b'{"i": %d, "f": %d.5}' % (i, i) for i in range(250)) + b"]"
    batches, bad = read_batches_of(tmp_path, "a.json", data, batch_rows=100)
    assert bad == [] and [b.num_rows for b in batches] == [100, 100, 50]
    assert batches[2].column("_s3_row").to_pylist() == list(range(201, 251))
    assert batches[0].column("f").to_pylist()[:2] == [0.5, 1.5]
    assert batches[0].column("_s3_line").null_count == 100


def test_single_object_is_one_record(tmp_path):
    t, _ = read_bytes(tmp_path, "a.json", b'\xef\xbb\xbf {\n "a": {"b": [1, 2]},\n "c": "x"\n}\n')
    assert data_rows(t) == [{"a": {"b": [1, 2]}, "c": "x"}] and col(t, "_s3_row") == [1]


def test_non_object_elements_are_bad_records_by_ordinal(tmp_path):
    t, bad = read_bytes(tmp_path, "a.json", b'[{"a": 1}, 2, [3], {"a": 4}]')
    assert [(b.line, b.reason) for b in bad] == [(2, "element 2 is not a JSON object"), (3, "element 3 is not a JSON object")]
    assert col(t, "a") == [1, 4] and col(t, "_s3_row") == [1, 4]


def test_big_integers_and_conflicting_types_become_json_text(tmp_path):
    t, _ = read_bytes(tmp_path, "a.json", b'[{"a": 1, "b": 1}, {"a": 123456789012345678901234, "b": {"x": 1}}]')
    assert col(t, "a") == ["1", "123456789012345678901234"]
    assert col(t, "b") == ["1", '{"x":1}']


def test_malformed_document_reports_then_stops_the_object(tmp_path):
    with pytest.raises(ObjectError, match="the rest of the document cannot be read") as e:
        read_bytes(tmp_path, "a.json", b'[{"a": 1}, {"a": ]')
    assert e.value.line == 2
    with pytest.raises(BadRecordError):
        read_bytes(tmp_path, "a.json", b"a,b\n1,2\n", on_error="fail")


def test_empty_document(tmp_path):
    assert read_bytes(tmp_path, "a.json", b"  \n") == (None, [])
    assert read_bytes(tmp_path, "a.json", b"[]") == (None, [])


def test_syntax_error_reason_is_one_clean_line(tmp_path):
    from s3_pipelines.readers import BadRecord, LocalFileSource, ReadOptions, read_batches

    path = tmp_path / "a.json"
    path.write_bytes(b'[{"a": 1}, {"a": tru}]')
    bad: list[BadRecord] = []
    with pytest.raises(ObjectError):
        list(read_batches(LocalFileSource(path), None, ReadOptions(), bad.append))
    assert len(bad) == 1 and bad[0].line == 2
    assert bad[0].reason.startswith("not valid JSON: ") and "\n" not in bad[0].reason
