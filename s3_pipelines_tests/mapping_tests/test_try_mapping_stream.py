"""`test-mapping --format json|jsonl` streams: the entities a batch makes are written as they are
made (column-wise JSON text when the batch compiled and passes the blueprint column-wise, orjson
on the row path otherwise), and say exactly what `test_mapping` says."""

from __future__ import annotations

import io
import json

from s3_pipelines.mapping import try_mapping
from s3_pipelines.mapping.evaluate import dumps
from s3_pipelines.mapping.try_mapping import _without_empty, test_mapping, write_test_mapping

from . import test_vector_bulk as vb
from .helpers import config


def test_streamed_output_says_what_test_mapping_says(tmp_path, monkeypatch):
    cfg = config(vb.BLUEPRINTS, vb.MAPPINGS)
    column_batches = []
    real = try_mapping._entity_texts
    monkeypatch.setattr(try_mapping, "_entity_texts", lambda *a: column_batches.append(1) or real(*a))
    for key, records in vb.OBJECTS:
        path = tmp_path / key.replace("/", "_")
        path.write_bytes(b"".join(dumps(r) + b"\n" for r in records))
        want = test_mapping(cfg, "accounts", file=str(path))
        want["entities"] = [_without_empty(e) for e in want["entities"]]
        out = io.BytesIO()
        found = write_test_mapping(cfg, "accounts", out, "json", file=str(path))
        assert json.loads(out.getvalue()) == want, key
        assert len(found["errors"]) == len(want["errors"])
        out, err = io.BytesIO(), io.BytesIO()
        write_test_mapping(cfg, "accounts", out, "jsonl", err=err, file=str(path))
        assert [json.loads(line) for line in out.getvalue().splitlines()] == want["entities"], key
        lines = [json.loads(line) for line in err.getvalue().splitlines()]
        assert [e["error"] for e in lines[:-1]] == want["errors"]
        assert lines[-1]["summary"]["entities"] == len(want["entities"])
        assert lines[-1]["summary"]["records"] == want["records"]
    assert len(column_batches) >= 4  # new, mergeable, escaped and null values: column-wise
