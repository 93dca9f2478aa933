"""The catalog reads staged records back without their texts (`_s3_record`) when the mapping
compiled entirely for the file's schema; a batch whose values send an expression to jq after all
gets its texts back from the file, and the catalog ends up exactly as when every batch had them."""

from __future__ import annotations

import pyarrow as pa

from s3_pipelines.catalog import apply_object, audit_rows, export_entities
from s3_pipelines.readers.records import RECORD_COLUMN
from s3_pipelines.staging import StagingStore
from s3_pipelines.targets.duckdb_target import DuckDBTarget

from .helpers import Catalog, batches, config, obj

BLUEPRINTS = {"thing": {"properties": {"n": {"type": "number"}, "tag": {"type": "string"}}}}


def _mapping(tag: str = ".body.tag") -> list:
    return [{"name": "things", "stream": "users", "target": "catalog", "blueprint": "thing",
             "filter": ".body.n > 3", "entity": {"identifier": ".body.id", "properties": {"n": ".body.n", "tag": tag}}}]


def _records(big: bool) -> list[dict]:
    recs = [{"id": f"t{i}", "n": i, "tag": "x" * (i % 3), "tags": ["a", str(i)]} for i in range(12)]
    if big:  # a comparison of an integer beyond 2^53 is jq's to make: its batch needs the texts
        recs[7]["n"] = 2**60 + 1
    return recs


def _stage(tmp_path, records) -> tuple[StagingStore, list[str]]:
    store = StagingStore(tmp_path / "staging")
    parts = [b.slice(i, 4) for b in batches(records) for i in range(0, b.num_rows, 4)]  # row groups of 4
    return store, store.write("users", "p", obj(), parts).files


def _apply(tmp_path, name: str, records, mapping, via_staging: bool):
    cat = Catalog(config(BLUEPRINTS, mapping), DuckDBTarget(tmp_path / f"{name}.duckdb"))
    m = cat.compiled["things"]
    seen, fetched = [], []
    if via_staging:
        store, files = _stage(tmp_path / name, records)

        def texts(batch):
            fetched.append(batch.num_rows)
            return store.with_record_text(batch)

        src = store.read_batches(files, batch_size=5, skip_text=lambda s: not m.reads_record_text(s))  # spans groups
        data = (seen.append(RECORD_COLUMN in b.schema.names) or b for b in src)
        done = apply_object(cat.target, cat.ec, m, data, obj(), stream="users", partition="p", run_id="r",
                            record_text=texts)
    else:
        done = apply_object(cat.target, cat.ec, m, batches(records), obj(), stream="users", partition="p", run_id="r")
    rows = [{k: v for k, v in e.items() if k not in ("created_at", "updated_at")} for e in export_entities(cat.target)]
    audit = [(a["line"], a["identifier"], a["status"], a["message"]) for a in audit_rows(cat.target)]
    return done.counts.created, rows, audit, seen, fetched


def test_a_compiled_mapping_reads_no_texts(tmp_path):
    want = _apply(tmp_path, "whole", _records(False), _mapping(), False)
    got = _apply(tmp_path, "staged", _records(False), _mapping(), True)
    assert got[:3] == want[:3] and want[0] == 8
    assert got[3] and not any(got[3]) and got[4] == []  # no batch carried or fetched texts


def test_a_batch_that_needs_jq_gets_its_texts_back(tmp_path):
    want = _apply(tmp_path, "whole", _records(True), _mapping(), False)
    got = _apply(tmp_path, "staged", _records(True), _mapping(), True)
    assert got[:3] == want[:3] and want[0] == 8
    assert got[4] == [5]  # the one batch holding the big integer (rows 5-9) read its texts back
    assert "t7" in [e["identifier"] for e in got[1]]


def test_a_mapping_with_jq_expressions_reads_the_texts(tmp_path):
    mapping = _mapping('.body.tags | join(",")')  # join is not compiled: jq reads every record
    want = _apply(tmp_path, "whole", _records(False), mapping, False)
    got = _apply(tmp_path, "staged", _records(False), mapping, True)
    assert got[:3] == want[:3] and all(got[3]) and got[4] == []


def test_with_record_text_restores_the_rows_of_a_batch(tmp_path):
    store, files = _stage(tmp_path, _records(False))
    full = pa.Table.from_batches(list(store.read_batches(files)))
    at = 0
    for b in store.read_batches(files, batch_size=5, skip_text=lambda s: True):
        assert RECORD_COLUMN not in b.schema.names
        back = store.with_record_text(b)
        assert back.column(RECORD_COLUMN).to_pylist() == full.column(RECORD_COLUMN).to_pylist()[at:at + b.num_rows]
        assert not back.schema.metadata
        at += b.num_rows
    assert at == 12
