"""Format and compression names come from the readers' registry: the config (a leaf) holds strings,
the checking pass says which are good, at their YAML line, and the JSON Schema lists them."""

import pytest

from s3_pipelines.check import json_schema, load_checked
from s3_pipelines.config import ConfigError, load_config
from s3_pipelines.readers.compression import CODECS
from s3_pipelines.readers.registry import ALIASES, FORMATS

from .test_check import GOOD, write

TABLE = """
connections:
  lake: {type: s3, bucket: acme-data}
  catalog: {type: duckdb, path: catalog.duckdb}
tables:
  t:
    connection: lake
    prefixes: [in/]
    formatSettings: {format: FMT, compression: COMP}
    inputSchema: [{name: a, type: string}]
    mappings: [{column: a, expression: '"a"'}]
"""


def test_schema_enums_are_the_registry():
    defs = json_schema()["$defs"]
    stream, table = defs["StreamConfig"]["properties"], defs["FormatSettings"]["properties"]
    assert stream["format"]["enum"] == [*FORMATS, *ALIASES, "auto"] and ALIASES["nd-json"] == "jsonl"
    assert stream["compression"]["enum"] == ["auto", *CODECS, "none"] == table["compression"]["enum"]
    assert set(table["format"]["enum"]) == {*FORMATS, *ALIASES, "tsv"}


def test_unknown_format_and_compression_of_a_stream_are_reported_at_their_lines(tmp_path):
    text = GOOD.replace("select: {prefixes: [users/]}", "select: {prefixes: [users/]}\n    format: xml\n    compression: lz4")
    load_config(write(tmp_path, text))  # the shape is right: a string
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, text))
    text = e.value.render()
    names = ", ".join(repr(n) for n in [*FORMATS, *ALIASES])
    assert f"line 9: streams.users.format: Input should be {names} or 'auto'" in text
    assert "line 10: streams.users.compression: Input should be 'auto', 'gzip', 'zstd' or 'none'" in text


@pytest.mark.parametrize("fmt,stream_format", [("nd-json", "nd-json"), ("tsv", "csv"), ("parquet", "parquet")])
def test_polaris_names_read_through_the_registry(tmp_path, fmt, stream_format):
    cfg = load_checked(write(tmp_path, TABLE.replace("FMT", fmt).replace("COMP", "auto")))
    stream = cfg.streams["t__source"]
    assert stream.format == stream_format
    assert (stream.csv.delimiter == "\t") == (fmt == "tsv")


def test_unknown_table_format_is_reported(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, TABLE.replace("FMT", "auto").replace("COMP", "brotli")))
    text = e.value.render()
    assert "tables.t.formatSettings.format: Input should be" in text and "'tsv'" in text
    assert "tables.t.formatSettings.compression: Input should be 'auto', 'gzip', 'zstd' or 'none'" in text
