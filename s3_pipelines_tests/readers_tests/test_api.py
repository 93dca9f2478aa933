import gzip

import pytest

from s3_pipelines.config.models import StreamConfig
from s3_pipelines.ingest import read_options
from s3_pipelines.readers import ReadOptions, detect_format
from s3_pipelines.readers.options import ColumnSpec, CsvOptions

from .helpers import col, read_bytes


def test_read_options_from_stream():
    stream = StreamConfig.model_validate(
        {
            "connection": "c",
            "select": {"prefixes": ["in/"]},
            "format": "csv",
            "compression": "gzip",
            "csv": {"delimiter": ";"},
            "envelope": "airbyte",
            "schema": [{"name": "a", "type": "long"}],
            "on_error": "fail",
            "max_errors": 5,
            "max_decompressed_bytes": 1000,
        }
    )
    o = read_options(stream)
    assert (o.format, o.compression, o.envelope, o.on_error, o.max_errors, o.max_decompressed_bytes) == (
        "csv", "gzip", "airbyte", "fail", 5, 1000
    )
    assert o.csv == CsvOptions(delimiter=";") and o.schema == (ColumnSpec(name="a", type="long"),)
    assert ReadOptions().schema is None and ReadOptions().batch_rows == 65536


@pytest.mark.parametrize(
    "key,fmt",
    [
        ("a/b.ndjson.gz", "jsonl"), ("x.JSONL", "jsonl"), ("x.json.zst", "json"), ("x.tsv.gzip", "csv"),
        ("x.csv.zstd", "csv"), ("x.pq", "parquet"), ("x.parquet", "parquet"), ("x.txt", None), ("noext", None),
    ],
)
def test_detect_format_from_key(key, fmt):
    assert detect_format(key) == fmt


@pytest.mark.parametrize(
    "data,expected",
    [
        (b'{"a": 1}\n{"a": 2}\n', [1, 2]),  # jsonl
        (b'[{"a": 1}, {"a": 2}]', [1, 2]),  # json array
        (b'{\n  "a": 1\n}\n', [1]),  # one pretty-printed object
        (b"a\n1\n2\n", [1, 2]),  # csv
    ],
)
def test_unknown_extension_is_sniffed(tmp_path, data, expected):
    t, _ = read_bytes(tmp_path, "dump/part-0001.txt", gzip.compress(data))
    assert col(t, "a") == expected


def test_explicit_format_overrides_the_extension(tmp_path):
    t, _ = read_bytes(tmp_path, "x.json", b'{"a": 1}\n{"a": 2}\n', format="jsonl")
    assert col(t, "_s3_line") == [1, 2]
