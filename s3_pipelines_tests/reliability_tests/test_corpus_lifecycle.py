"""Hostile cases that need more than one object in a bucket: an object deleted or overwritten
between listing and reading, a 200 MB single line (bounded memory), integers above 2^53 used as
catalog identifiers, and a reader defect on one object. End to end through a real local S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib

from s3_pipelines import ingest
from s3_pipelines.catalog import audit_rows, export_entities
from s3_pipelines.connections import S3Client
from s3_pipelines.dagster_defs.stream_assets import records_key
from s3_pipelines.targets import open_target

from .conftest import check_eval, materialization, parse_check, step_failure
from .corpus import good_object, lines

STREAM = {"select": {"prefixes": ["in/"]}, "format": "jsonl", "listing": {"mode": "start_after"}}


def _discover(lake, stream="s"):
    """What a sensor tick does: list and record the new object versions as pending."""
    cfg = lake.load()
    client = S3Client.from_config(cfg.s3_connection("lake"))
    return ingest.discover_all(client, stream, cfg.streams[stream], lake.ledger, None).new


def test_object_deleted_between_list_and_get(lake):
    lake.configure({"s": STREAM})
    lake.put(*good_object("jsonl"))
    lake.put("in/gone.jsonl", lines('{"id": 1}'))
    assert len(_discover(lake)) == 2
    lake.delete("in/gone.jsonl")

    result = lake.run("s", discovered=True)
    assert result.success
    assert lake.row("s", "in/good.jsonl").status == "loaded"
    gone = lake.row("s", "in/gone.jsonl")
    assert gone.status == "changed" and not gone.staged
    assert gone.error.startswith("in/gone.jsonl") and "deleted since listed" in gone.error
    assert materialization(result, records_key("s"))["objects_changed"] == 1
    # nothing comes back for it: the key is gone
    assert lake.run("s", discovered=True).success
    assert [r.status for r in lake.ledger.rows("s") if r.obj.key == "in/gone.jsonl"] == ["changed"]


def test_object_overwritten_between_list_and_get(lake):
    lake.configure({"s": STREAM})
    lake.put(*good_object("jsonl"))
    v1 = lake.put("in/moving.jsonl", lines('{"id": 1, "v": "old"}', '{"id": 2, "v": "old"}'))
    _discover(lake)
    v2 = lake.put("in/moving.jsonl", lines('{"id": 1, "v": "new"}', '{"id": 2, "v": "new"}', '{"id": 3, "v": "new"}'))
    assert v1 != v2

    result = lake.run("s", discovered=True)
    assert result.success
    old = lake.row("s", "in/moving.jsonl", status="changed")
    assert old.obj.etag == v1 and "changed since it was listed" in old.error and old.error.startswith("in/moving.jsonl")
    assert materialization(result, records_key("s"))["objects_changed"] == 1
    # the new version was recorded as pending by the failed read; the next run loads it, and only it
    assert lake.row("s", "in/moving.jsonl", status="pending").obj.etag == v2
    assert lake.run("s", discovered=True).success
    new = lake.row("s", "in/moving.jsonl", status="loaded")
    assert (new.obj.etag, new.rows) == (v2, 3)
    staged = lake.staged("s", "in/moving.jsonl")
    assert staged.column("v").to_pylist() == ["new"] * 3 and set(staged.column("_s3_etag").to_pylist()) == {v2}


def _long_line_gzip(line_bytes: int) -> bytes:
    """Three lines, the second `line_bytes` long, gzipped while generated (never held whole)."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = [c.compress(b'{"id": 1}\n{"id": 2, "blob": "')]
    block = b"x" * (1 << 20)
    out += [c.compress(block) for _ in range(line_bytes >> 20)]
    out += [c.compress(b'"}\n{"id": 3}\n'), c.flush()]
    return b"".join(out)


CHILD = """
import json, resource, sys
from s3_pipelines import ingest
from s3_pipelines.config import load_config
from s3_pipelines.connections import S3Client
from s3_pipelines.ledger import Ledger
from s3_pipelines.staging import StagingStore
cfg = load_config(sys.argv[1])
client = S3Client.from_config(cfg.s3_connection("lake"))
name = sys.argv[2]
ledger, stream = Ledger(cfg.ledger_path()), cfg.streams[name]
staging = StagingStore(cfg.resolve(cfg.state.staging.path))
ingest.discover_all(client, name, stream, ledger, None)
for p in ledger.pending_partitions(name):
    ingest.load_partition(client, name, stream, p, staging, ledger, "child")
print(json.dumps({"max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _peak_rss_mb(lake, stream: str) -> float:
    """Load a stream in a fresh process (the engine's ingest path); its peak RSS in MB."""
    r = subprocess.run([sys.executable, "-c", CHILD, str(lake.config), stream], capture_output=True, text=True,
                       env={**os.environ, **lake.env}, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])["max_rss_mb"]


def test_200mb_single_line_is_rejected_in_bounded_memory(lake):
    limit = 16 << 20
    lake.configure({"s": {**STREAM, "max_line_bytes": limit},
                    "small": {**STREAM, "select": {"prefixes": ["small/"]}, "max_line_bytes": limit}})
    lake.put(*good_object("jsonl"))
    lake.put("in/huge.jsonl.gz", _long_line_gzip(200 << 20))
    lake.put("small/long.jsonl.gz", _long_line_gzip(20 << 20))
    rss_huge, rss_small = _peak_rss_mb(lake, "s"), _peak_rss_mb(lake, "small")

    huge = lake.row("s", "in/huge.jsonl.gz")
    assert (huge.status, huge.rows, huge.bad_rows) == ("loaded", 2, 1)
    (bad,) = lake.bad("s", "in/huge.jsonl.gz")
    assert bad["line"] == 2 and f"longer than max_line_bytes ({limit})" in bad["reason"]
    line2 = len(b'{"id": 2, "blob": ""}\n') + (200 << 20)
    assert f"line of {line2} bytes" in bad["reason"], bad["reason"]
    assert lake.staged("s", "in/huge.jsonl.gz").column("id").to_pylist() == [1, 3]
    assert lake.row("s", "in/good.jsonl").rows == 3
    assert lake.row("small", "small/long.jsonl.gz").rows == 2
    # peak memory does not grow with the line: 10x the line, about the same peak
    assert rss_huge - rss_small < 40, (rss_huge, rss_small)


def test_integers_above_2_53_as_catalog_identifiers_keep_every_digit(lake):
    ids = [9007199254740993, 9007199254740995, 18446744073709551617]  # 2^53+1, 2^53+3, 2^64+1
    lake.configure(
        {"s": STREAM},
        blueprints={"thing": {"title": "Thing", "properties": {"name": {"type": "string"}}}},
        mappings=[{"name": "things", "stream": "s", "blueprint": "thing", "target": "catalog",
                   "entity": {"identifier": ".body.id | tostring", "properties": {"name": ".body.name"}}}],
    )
    lake.put("in/ids.jsonl", lines(*(json.dumps({"id": i, "name": f"n{n}"}) for n, i in enumerate(ids))))
    result = lake.run("s")
    assert result.success
    target = open_target(lake.load(), "catalog")
    assert sorted(e["identifier"] for e in export_entities(target, "thing")) == sorted(str(i) for i in ids)
    assert audit_rows(target, status="failure") == []
    import dagster as dg

    assert check_eval(result, dg.AssetKey(["s", "entities", "things"]), "audit_failures").passed
    # and in the staged records themselves
    staged = lake.staged("s")
    assert sorted(str(v) for v in staged.column("id").to_pylist()) == sorted(str(i) for i in ids)


def test_a_reader_defect_fails_that_object_only(lake, monkeypatch):
    """Whatever a reader raises on some input, the object fails with the key and the exception
    named, and the other objects of the run load."""
    real = ingest.read_batches

    def flaky(source, obj, opts, on_bad):
        if source.key == "in/trap.jsonl":
            raise KeyError("a reader bug")
        return real(source, obj, opts, on_bad)

    monkeypatch.setattr(ingest, "read_batches", flaky)
    lake.configure({"s": STREAM})
    lake.put(*good_object("jsonl"))
    lake.put("in/trap.jsonl", lines('{"id": 1}'))
    result = lake.run("s")
    assert not result.success  # an unreadable object fails its partition's run (issue 14)...
    assert lake.row("s", "in/good.jsonl").rows == 3  # ...after its neighbours loaded
    description, _ = step_failure(result, records_key("s"))
    assert "in/trap.jsonl: unexpected KeyError while reading" in description, description
    trap = lake.row("s", "in/trap.jsonl")
    assert trap.status == "failed" and trap.error.startswith("in/trap.jsonl") and "KeyError" in trap.error
    passed, md = parse_check(result, "s")
    assert not passed and md["failed_objects"] == 1
