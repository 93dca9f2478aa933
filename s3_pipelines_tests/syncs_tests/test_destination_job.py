"""A destination fed by a stream, run by the stream's own Dagster job: Pipedream's key layout, a
re-run writes nothing new, and a run killed between the upload and the ledger mark leaves no second
object after the rerun. (Formats, windows, multipart and create-only are proven in sinks_tests.)"""

from __future__ import annotations

import json
import re

import dagster as dg

from s3_pipelines.sinks.s3 import get_format
from s3_pipelines.sinks.s3 import feed as feed_module

from .conftest import TODAY

KEY_RE = re.compile(r"^exports/events/(\d{4})/(\d{2})/(\d{2})/(\d{2})/\1-\2-\3-\4-\d{2}-00-[0-9a-f]{32}\.gz$")

CONFIG = """
streams:
  events:
    connection: lake
    select: {prefixes: ["in/events/"]}
    format: jsonl
destinations:
  archive:
    connection: lake
    prefix: exports/events/
    format: ndjson.gz
    batch_window: 1m
    from: {stream: events}
"""

LINES = ['{"id":1,"name":"Zoë","tags":[],"meta":{}}', '{"id":2,"extra":null,"nested":{"a":{}}}',
         '{"id":3,"big":12345678901234567890}']


def _materialization(result, key: str):
    return next(m for m in result.asset_materializations_for_node(key))


def test_destination_in_the_stream_job(setup, monkeypatch):
    setup.write(CONFIG)
    setup.put("in/events/a.jsonl", ("\n".join(LINES[:2]) + "\n").encode())
    setup.put("in/events/b.jsonl", (LINES[2] + "\n").encode())
    defs = setup.defs()
    job = defs.resolve_job_def("events_job")
    assert dg.AssetKey(["destinations", "archive"]) in job.asset_layer.executable_asset_keys
    instance = dg.DagsterInstance.ephemeral()

    first = setup.run("events_job", TODAY, instance, defs)
    keys = setup.keys("exports/")
    assert keys and all(KEY_RE.match(k) for k in keys), keys
    written = [r for k in keys for r in get_format("ndjson.gz").decode(setup.get(k))]
    assert sorted(written, key=lambda r: r["id"]) == [json.loads(x) for x in LINES]  # records as written
    md = _materialization(first, "destinations__archive").metadata
    assert md["rows"].value == 3 and md["objects_written"].value == len(keys)
    assert md["keys"].value == keys

    # a re-run: nothing new to write, nothing written
    again = setup.run("events_job", TODAY, instance, defs)
    md = _materialization(again, "destinations__archive").metadata
    assert (md["objects_written"].value, md["inputs_already_done"].value) == (0, 2)
    assert setup.keys("exports/") == keys

    # a new object arrives; the run is killed after its upload, before the ledger mark
    setup.put("in/events/c.jsonl", b'{"id":4}\n')

    def killed(db, result):
        raise dg.Failure("killed between upload and ledger mark", allow_retries=False)

    record_load = feed_module.record_load
    monkeypatch.setattr(feed_module, "record_load", killed)
    crashed = defs.resolve_job_def("events_job").execute_in_process(
        partition_key=TODAY, instance=instance, raise_on_error=False)
    assert not crashed.success
    after_crash = setup.keys("exports/")
    assert len(after_crash) == len(keys) + 1  # uploaded, not recorded
    monkeypatch.setattr(feed_module, "record_load", record_load)
    rerun = setup.run("events_job", TODAY, instance, defs)
    md = _materialization(rerun, "destinations__archive").metadata
    assert setup.keys("exports/") == after_crash  # no second object
    assert (md["objects_written"].value, md["objects_already_there"].value, md["rows"].value) == (0, 1, 1)
