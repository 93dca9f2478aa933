"""Bulk sync of two streams over two days, in snapshot and replicate mode, run as a backfill of the
stream × day job: one object per partition (schema drift widens it), atomic replacement through a
manifest, merge by key with `_deleted_at`, server-side copy when nothing converts."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pyarrow.parquet as pq
import io
import pytest

from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.sinks.s3 import get_format

from .conftest import TODAY

YESTERDAY = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%d")

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
  orders: {{connection: lake, select: {{prefixes: ["in/orders/"]}}, format: csv}}
syncs:
  snap: {{kind: bulk, source: lake, destination: arch, subfolder: reports, format: parquet, mode: snapshot, start: "{start}"}}
  rep: {{kind: bulk, source: lake, destination: arch, subfolder: merged, format: json, mode: replicate, start: "{start}",
        primary_key: {{users: [id], orders: [order_id]}}}}
  mirror: {{kind: bulk, source: lake, destination: arch, subfolder: mirror, format: json, mode: snapshot,
           streams: [users], start: "{start}", schedule: "0 2 * * *"}}
"""


@pytest.fixture
def bulk(setup, monkeypatch):
    """Objects under `.../d1/` arrived yesterday (moto stamps every object now)."""
    list_page = S3Client.list_page

    def shifted(self, *a, **kw):
        objs, token = list_page(self, *a, **kw)
        return [o if "/d1/" not in o.key else type(o)(o.bucket, o.key, o.etag, o.size,
                                                      o.last_modified - dt.timedelta(days=1)) for o in objs], token

    monkeypatch.setattr(S3Client, "list_page", shifted)
    setup.write(CONFIG.format(bucket=setup.bucket, endpoint=setup.server.endpoint_url, start=YESTERDAY))
    setup.config.write_text(setup.config.read_text().replace("  catalog: {type: duckdb, path: state/catalog.duckdb}\n", "")
                            .rstrip() + "\n")
    text = setup.config.read_text()
    lake_end = text.index("streams:")
    setup.config.write_text(text[:lake_end].rstrip() + "\n" + text[lake_end:])
    setup.put("in/users/d1/a.jsonl", b'{"id":1,"name":"ann"}\n{"id":2,"name":"bob"}\n')
    setup.put("in/users/d2/b.jsonl", b'{"id":2,"name":"bob2"}\n{"id":3,"name":"cy"}\n')
    setup.put("in/users/d2/c.jsonl", b'{"id":3,"name":"cy2","email":"cy@x"}\n{"id":4,"name":"di","email":"d@x"}\n')
    setup.put("in/orders/d1/o1.csv", b"order_id,amount\n10,1.5\n11,2.5\n")
    setup.put("in/orders/d2/o2.csv", b"order_id,amount,currency\n12,3.5,EUR\n")
    return setup


def backfill(setup, job: str, defs=None) -> list:
    """Every partition of the two days, one run each (what a backfill launches)."""
    defs = defs or setup.defs()
    pdef = defs.resolve_job_def(job).partitions_def
    keys = [k for k in pdef.get_partition_keys() if k.keys_by_dimension["day"] in (YESTERDAY, TODAY)]
    assert len(keys) == (2 if job == "mirror_job" else 4)
    return [setup.run(job, k, defs=defs) for k in keys]


def manifest(setup, base: str) -> dict:
    return json.loads(setup.get(f"archive/{base}_manifest.json"))


def parquet_rows(setup, key: str) -> list[dict]:
    return pq.read_table(io.BytesIO(setup.get(key))).to_pylist()


def test_snapshot_two_streams_two_days(bulk):
    defs = bulk.defs()
    job = defs.resolve_job_def("snap_job")
    assert isinstance(job.partitions_def, dg.MultiPartitionsDefinition)
    assert {d.name for d in job.partitions_def.partitions_defs} == {"stream", "day"}
    backfill(bulk, "snap_job", defs)
    for stream, day, ids in (("users", YESTERDAY, [1, 2]), ("users", TODAY, [2, 3, 3, 4]),
                             ("orders", YESTERDAY, [10, 11]), ("orders", TODAY, [12])):
        m = manifest(bulk, f"reports/{stream}/{day}/")
        assert len(m["objects"]) == 1  # one object per partition, drift or not
        rows = parquet_rows(bulk, m["objects"][0]["key"])
        assert [r["id" if stream == "users" else "order_id"] for r in rows] == ids
    users2 = parquet_rows(bulk, manifest(bulk, f"reports/users/{TODAY}/")["objects"][0]["key"])
    assert users2[-1] == {"id": 4, "name": "di", "email": "d@x"} and users2[0]["email"] is None  # new column
    orders2 = parquet_rows(bulk, manifest(bulk, f"reports/orders/{TODAY}/")["objects"][0]["key"])
    assert orders2 == [{"order_id": 12, "amount": 3.5, "currency": "EUR"}]

    # a re-run finds its generation published: nothing written
    before = bulk.keys("archive/reports/")
    r = bulk.run("snap_job", dg.MultiPartitionKey({"stream": "users", "day": TODAY}), defs=defs)
    md = r.asset_materializations_for_node("syncs__snap")[0].metadata
    assert md["unchanged"].value is True and bulk.keys("archive/reports/") == before

    # the source changes: a new generation replaces the old one whole, old objects deleted after
    old = manifest(bulk, f"reports/users/{TODAY}/")
    bulk.s3.delete_object(Bucket=bulk.bucket, Key="in/users/d2/c.jsonl")
    bulk.run("snap_job", dg.MultiPartitionKey({"stream": "users", "day": TODAY}), defs=defs)
    new = manifest(bulk, f"reports/users/{TODAY}/")
    assert new["generation"] != old["generation"]
    assert [r["id"] for r in parquet_rows(bulk, new["objects"][0]["key"])] == [2, 3]
    under = [k for k in bulk.keys(f"archive/reports/users/{TODAY}/") if not k.endswith("_manifest.json")]
    assert under == [new["objects"][0]["key"]]


def test_replicate_merges_by_key_and_marks_deletions(bulk):
    defs = bulk.defs()
    backfill(bulk, "rep_job", defs)
    fmt = get_format("json")

    def rows(stream, day):
        m = manifest(bulk, f"merged/{stream}/{day}/")
        return {r["id" if stream == "users" else "order_id"]: r for o in m["objects"] for r in fmt.decode(bulk.get(o["key"]))}

    today = rows("users", TODAY)
    assert sorted(today) == [2, 3, 4]  # one row per key: the last record wins
    assert today[3] == {"id": 3, "name": "cy2", "email": "cy@x", "_deleted_at": None}
    assert all(r["_deleted_at"] is None for r in today.values())
    assert sorted(rows("orders", YESTERDAY)) == [10, 11]

    bulk.s3.delete_object(Bucket=bulk.bucket, Key="in/users/d2/c.jsonl")
    bulk.run("rep_job", dg.MultiPartitionKey({"stream": "users", "day": TODAY}), defs=defs)
    after = rows("users", TODAY)
    assert sorted(after) == [2, 3, 4]
    assert after[4]["_deleted_at"] is not None and after[4]["name"] == "di"  # deleted at the source: kept, marked
    assert after[3] == {"id": 3, "name": "cy", "_deleted_at": None}  # back to the record still there
    stamp = after[4]["_deleted_at"]
    bulk.run("rep_job", dg.MultiPartitionKey({"stream": "users", "day": TODAY}), defs=defs)
    assert rows("users", TODAY)[4]["_deleted_at"] == stamp  # the first time it was missed stays


def test_server_side_copy_and_schedule(bulk):
    defs = bulk.defs()
    runs = backfill(bulk, "mirror_job", defs)
    md = runs[-1].asset_materializations_for_node("syncs__mirror")[0].metadata
    assert md["method"].value == "copy"
    m = manifest(bulk, f"mirror/users/{TODAY}/")
    assert [bulk.get(o["key"]) for o in m["objects"]] == [bulk.get("in/users/d2/b.jsonl"), bulk.get("in/users/d2/c.jsonl")]
    schedule = defs.resolve_schedule_def("mirror_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
