"""The format registry: each format's module declares it once (name, suffixes, how it reads), and
dispatch, suffix detection, aliases and magic bytes follow from the declarations."""

import ast
import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_pipelines.objects import ObjectError
from s3_pipelines.readers import Format, detect_format
from s3_pipelines.readers.registry import ALIASES, FORMATS, by_magic, get_format

from .helpers import data_rows, read_bytes


def test_every_format_is_declared_by_its_module():
    for name, fmt in FORMATS.items():
        assert isinstance(fmt, Format) and fmt.name == name and fmt.suffixes
        assert fmt.read.__module__ == f"s3_pipelines.readers.{fmt.read.__module__.rsplit('.', 1)[-1]}"
        for suffix in fmt.suffixes:
            assert detect_format(f"a/b{suffix.upper()}.gz") == name
    assert get_format("nd-json") is FORMATS["jsonl"] and ALIASES["nd-json"] == "jsonl"
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        get_format("xml")


def test_package_face_only_re_exports():
    tree = ast.parse((Path(__file__).resolve().parents[2] / "s3_pipelines" / "readers" / "__init__.py").read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_alias_reads_as_its_format(tmp_path):
    t, bad = read_bytes(tmp_path, "x.txt", b'{"a": 1}\n{"a": 2}\n', format="nd-json")
    assert bad == [] and data_rows(t) == [{"a": 1}, {"a": 2}] and t.column("_s3_line").to_pylist() == [1, 2]


def test_random_access_formats_are_found_by_magic_and_refuse_compression(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    assert by_magic(path.read_bytes()[:8]) is FORMATS["parquet"] and by_magic(b"\x1f\x8b\x08\x00") is None
    with pytest.raises(ObjectError, match=r"compressed Parquet objects are not supported \(Parquet compresses"):
        read_bytes(tmp_path, "x.bin", gzip.compress(path.read_bytes()), format="parquet", compression="gzip")
