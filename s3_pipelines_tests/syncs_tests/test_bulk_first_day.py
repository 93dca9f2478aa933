"""A bulk sync without `start` begins its days where its streams' partitions begin (their first
arrival), and its first day copies the objects written before it, as a stream's first partition does."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from s3_pipelines.connections.s3 import S3Client

from .conftest import TODAY

CONFIG = """
  arch:
    type: s3
    bucket: {bucket}
    prefix: archive/
    endpoint_url: {endpoint}
    region: us-east-1
    auth: {{mode: access_key_and_secret, aws_access_key_id: {{env: S3P_TEST_KEY_ID}}, aws_secret_access_key: {{env: S3P_TEST_SECRET}}}}
streams:
  users: {{connection: lake, select: {{prefixes: ["in/users/"]}}, format: jsonl}}
syncs:
  copy: {{kind: bulk, source: lake, destination: arch, subfolder: out, format: json, mode: snapshot}}
"""


def test_bulk_sync_days_start_at_the_first_arrival_and_take_older_objects(setup, monkeypatch):
    list_page = S3Client.list_page

    def aged(self, *a, **kw):  # objects under old/ read as written 30 days ago (S3 stamps them now)
        objs, token = list_page(self, *a, **kw)
        return [o if "/old/" not in o.key else type(o)(o.bucket, o.key, o.etag, o.size,
                                                       o.last_modified - dt.timedelta(days=30)) for o in objs], token

    monkeypatch.setattr(S3Client, "list_page", aged)
    text = "  " + CONFIG.format(bucket=setup.bucket, endpoint=setup.server.endpoint_url).strip()
    setup.write(text.replace("\nstreams:", "\n\nstreams:"))
    setup.config.write_text(setup.config.read_text().replace("  catalog: {type: duckdb, path: state/catalog.duckdb}\n", ""))
    setup.put("in/users/old/a.jsonl", b'{"id":1}\n')
    setup.put("in/users/new/b.jsonl", b'{"id":2}\n')
    defs = setup.defs()
    pdef = defs.resolve_job_def("copy_job").partitions_def
    assert isinstance(pdef, dg.MultiPartitionsDefinition)
    assert [k.keys_by_dimension["day"] for k in pdef.get_partition_keys()] == [TODAY]  # not years of days
    setup.run("copy_job", dg.MultiPartitionKey({"stream": "users", "day": TODAY}), defs=defs)
    manifest = json.loads(setup.get(f"archive/out/users/{TODAY}/_manifest.json"))
    copied = sorted(setup.get(o["key"]).decode() for o in manifest["objects"])
    assert copied == ['{"id":1}\n', '{"id":2}\n']  # the old object too
