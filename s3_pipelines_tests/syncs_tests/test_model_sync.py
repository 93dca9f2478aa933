"""Model sync from a zip and from a tar.gz archive (and one file): to an S3 prefix in a format, and to
a catalog table by mode."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import duckdb
import pytest

from s3_pipelines.sinks.s3 import get_format

from .conftest import TODAY

CONFIG = """
syncs:
  from_zip:
    kind: model
    source: {connection: lake, model_from: multi_file_archive, subfolder: crm, key: accounts.zip, file_format: csv}
    target: {connection: lake, subfolder: models/, format: json}
  from_tar:
    kind: model
    source: {connection: lake, model_from: multi_file_archive, key: crm/accounts.tar.gz, file_format: json}
    target: {catalog: catalog, table: accounts}
    mode: update_or_create
    primary_key: [id]
  single:
    kind: model
    source: {connection: lake, model_from: single_file, key: crm/accounts.csv, file_format: csv, skip_lines: 1}
    target: {connection: lake, subfolder: models/, format: parquet}
"""


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def models(setup):
    setup.write(CONFIG)
    setup.put("crm/accounts.zip", zip_bytes({
        "part-b.csv": b"id,name\n3,Cy\n", "part-a.csv": b"id,name,tier\n1,Ann,gold\n2,Bob,\n",
        "README.txt": b"not a model file", "nested/part-c.csv": b"id,name\n4,Di\n"}))
    setup.put("crm/accounts.tar.gz", tar_gz_bytes({
        "a.jsonl": b'{"id":1,"name":"Ann","tags":["x"]}\n{"id":2,"name":"Bob"}\n', "notes.md": b"# skip",
        "b.json": b'{"id":3,"name":"Cy"}\n'}))
    setup.put("crm/accounts.csv", b"# exported 2026-12-01\nid,name\n7,Gus\n8,Hal\n")
    return setup


def published(setup, name: str) -> list[bytes]:
    m = json.loads(setup.get(f"models/{name}/{TODAY}/_manifest.json"))
    return [setup.get(o["key"]) for o in m["objects"]]


def test_model_from_zip_to_s3(models):
    models.run("from_zip_job", TODAY)
    (data,) = published(models, "from_zip")
    rows = get_format("json").decode(data)
    assert rows == [{"id": 4, "name": "Di"}, {"id": 1, "name": "Ann", "tier": "gold"},
                    {"id": 2, "name": "Bob", "tier": None}, {"id": 3, "name": "Cy"}]
    models.run("from_zip_job", TODAY)  # the same model: nothing new
    assert len([k for k in models.keys("models/from_zip/") if not k.endswith(".json")]) == 1


def test_model_from_tar_gz_to_catalog_table(models):
    models.run("from_tar_job", TODAY)
    db = models.root / "state" / "catalog.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT id, name, tags FROM accounts ORDER BY id").fetchall() == [
            (1, "Ann", '["x"]'), (2, "Bob", None), (3, "Cy", None)]
    models.put("crm/accounts.tar.gz", tar_gz_bytes({"a.jsonl": b'{"id":2,"name":"Bobby"}\n{"id":5,"name":"Eve"}\n'}))
    models.run("from_tar_job", TODAY)
    with duckdb.connect(str(db), read_only=True) as con:  # update_or_create: 2 updated, 5 created, the rest kept
        assert con.sql("SELECT id, name FROM accounts ORDER BY id").fetchall() == [
            (1, "Ann"), (2, "Bobby"), (3, "Cy"), (5, "Eve")]


def test_model_from_one_file_skipping_lines(models):
    models.run("single_job", TODAY)
    (data,) = published(models, "single")
    assert get_format("parquet").decode(data) == [{"id": 7, "name": "Gus"}, {"id": 8, "name": "Hal"}]
