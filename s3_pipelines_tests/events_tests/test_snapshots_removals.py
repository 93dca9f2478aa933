"""Snapshots (single table: replace atomically, counts by primary key, a late older snapshot
ignored; directories: one asset per directory, a new one appears on reload) and removals
(on_remove: delete_rows deletes a removed object's entities, audited; keep keeps them)."""

import functools
import uuid

import dagster as dg
import pytest

from s3_pipelines.events.store import EventStore
from s3_pipelines.ledger import Ledger
from s3_pipelines.targets.registry import open_target

from s3_pipelines_tests.state_fixtures import drop_schema

from .helpers import defs_of, execute, tick, write_config


def csv(*rows) -> bytes:
    return ("id,name\n" + "".join(f"{i},{n}\n" for i, n in rows)).encode()


def _table(cfg, name, target="catalog"):
    with open_target(cfg, target).transaction() as tx:
        return sorted(tx.execute(f'SELECT id, name FROM "{name}" ORDER BY id'))


SINGLE = r"""
streams:
  accounts:
    connection: lake
    select: {prefixes: ["crm/"]}
    format: csv
    on_remove: delete_rows
    snapshot: {mode: single_table, time_from: key, key_time_regex: 'accounts_(\d{8}T\d{6})',
               key_time_format: '%Y%m%dT%H%M%S', primary_key: [id], target: TARGET}
"""


@pytest.mark.parametrize("target", ["catalog", "pg"])
def test_single_table_snapshot_replaces_rows_and_a_late_older_one_is_ignored(event_bucket, moto_server, tmp_path,
                                                                            monkeypatch, target, request):
    bucket = event_bucket()
    if target == "pg":
        url, schema = request.getfixturevalue("pg_url"), f"snap_{uuid.uuid4().hex[:10]}"
        request.addfinalizer(lambda: drop_schema(url, schema))
    path = write_config(tmp_path, bucket, SINGLE.replace("TARGET", target), monkeypatch=monkeypatch, server=moto_server)
    if target == "pg":  # a second SQL connection
        text = path.read_text().replace("state: {", f"  pg: {{type: postgres, url: '{url}', schema: {schema}}}\nstate: {{")
        path.write_text(text)
    cfg, defs = defs_of(path)
    table = functools.partial(_table, target=target)
    put = bucket.client.put_bytes
    with dg.DagsterInstance.ephemeral() as instance:
        put("crm/accounts_20260101T000000.csv", csv((1, "a"), (2, "b"), (3, "c")))
        first, cursor = tick(defs, instance, "lake_events", None)
        [run] = execute(defs, instance, first.run_requests)
        assert table(cfg, "accounts") == [(1, "a"), (2, "b"), (3, "c")]

        put("crm/accounts_20260103T000000.csv", csv((1, "A"), (2, "b"), (4, "d")))
        second, cursor = tick(defs, instance, "lake_events", cursor)
        [run] = execute(defs, instance, second.run_requests)
        md = _metadata(run)
        assert (md["inserted"], md["updated"], md["deleted"]) == (1, 1, 1)
        assert table(cfg, "accounts") == [(1, "A"), (2, "b"), (4, "d")]

        put("crm/accounts_20260102T000000.csv", csv((9, "old")))  # taken before the current one, arriving late
        late, cursor = tick(defs, instance, "lake_events", cursor)
        [run] = execute(defs, instance, late.run_requests)
        md = _metadata(run)
        assert md["status"] == "current" and md["ignored_older"] == ["crm/accounts_20260102T000000.csv"]
        assert table(cfg, "accounts") == [(1, "A"), (2, "b"), (4, "d")]
        statuses = {r.obj.key: r.status for r in Ledger.from_config(cfg).rows("accounts")}
        assert statuses["crm/accounts_20260103T000000.csv"] == "loaded"
        assert statuses["crm/accounts_20260102T000000.csv"] == "superseded"

        # on_remove: delete_rows: the current snapshot removed -> the newest remaining one is the table
        bucket.client.delete("crm/accounts_20260103T000000.csv")
        gone, cursor = tick(defs, instance, "lake_events", cursor)
        execute(defs, instance, gone.run_requests)
        assert table(cfg, "accounts") == [(9, "old")]
        for k in ("crm/accounts_20260101T000000.csv", "crm/accounts_20260102T000000.csv"):
            bucket.client.delete(k)
        gone, cursor = tick(defs, instance, "lake_events", cursor)
        [run] = execute(defs, instance, gone.run_requests)
        assert _metadata(run)["status"] == "emptied" and table(cfg, "accounts") == []


def _metadata(result) -> dict:
    [mat] = [e.event_specific_data.materialization for e in result.all_events if e.is_step_materialization]
    return {k: v.value for k, v in mat.metadata.items()}


DIRS = """
streams:
  exports:
    connection: lake
    select: {pattern: "exports/**.csv"}
    format: csv
    snapshot: {mode: directory, directory_glob_pattern: "exports/*/"}
"""


def test_two_snapshot_directories_are_two_assets_and_a_third_appears(event_bucket, moto_server, tmp_path, monkeypatch):
    bucket = event_bucket(notify=False)
    path = write_config(tmp_path, bucket, DIRS, monkeypatch=monkeypatch, server=moto_server)
    bucket.client.put_bytes("exports/users/2026-12-01.csv", csv((1, "u")))
    bucket.client.put_bytes("exports/teams/2026-12-01.csv", csv((1, "t"), (2, "t2")))
    cfg, defs = defs_of(path)

    def snapshot_keys(defs):
        return sorted(k.to_user_string() for k in defs.resolve_all_asset_keys() if "snapshots" in k.path)

    assert snapshot_keys(defs) == ["exports/snapshots/teams", "exports/snapshots/users"]
    with dg.DagsterInstance.ephemeral() as instance:  # one materialized on its own, from the UI's path
        job = defs.resolve_job_def("exports_snapshot_job")
        job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(["exports", "snapshots", "teams"])])
    assert table(cfg, "exports__teams") == [(1, "t"), (2, "t2")]
    with open_target(cfg, "catalog").transaction() as tx:
        assert tx.table_columns("exports__users") is None

    bucket.client.put_bytes("exports/groups/2026-12-02.csv", csv((7, "g")))  # no YAML edit: a reload
    _, defs = defs_of(path)
    assert snapshot_keys(defs) == ["exports/snapshots/groups", "exports/snapshots/teams", "exports/snapshots/users"]


MAPPED = """
blueprints:
  person:
    title: Person
    properties: {name: {type: string}}
mappings:
  - name: people
    stream: people
    target: catalog
    blueprint: person
    entity: {identifier: '.body.id | tostring', title: '.body.name', properties: {name: '.body.name'}}
  - name: kept_people
    stream: kept
    target: catalog
    blueprint: person
    entity: {identifier: '"k" + (.body.id | tostring)', title: '.body.name', properties: {name: '.body.name'}}
streams:
  people:
    connection: lake
    select: {prefixes: ["people/"]}
    format: jsonl
    on_remove: delete_rows
  kept:
    connection: lake
    select: {prefixes: ["kept/"]}
    format: jsonl
"""


table = _table


def entities(cfg):
    with open_target(cfg, "catalog").transaction() as tx:
        return sorted(r[0] for r in tx.execute("SELECT identifier FROM s3p_entities"))


def test_removed_object_rows_deleted_when_configured(event_bucket, moto_server, tmp_path, monkeypatch):
    bucket = event_bucket()
    cfg, defs = defs_of(write_config(tmp_path, bucket, MAPPED, monkeypatch=monkeypatch, server=moto_server))
    put = bucket.client.put_bytes
    put("people/a.jsonl", b'{"id": 1, "name": "x"}\n{"id": 2, "name": "y"}\n')
    put("people/b.jsonl", b'{"id": 3, "name": "z"}\n')
    put("kept/a.jsonl", b'{"id": 1, "name": "x"}\n')
    ledger = Ledger.from_config(cfg)
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "lake_events", None)
        execute(defs, instance, first.run_requests)
        assert entities(cfg) == ["1", "2", "3", "k1"]

        bucket.client.delete("people/a.jsonl")  # ObjectRemoved:Delete through the queue
        bucket.client.delete("kept/a.jsonl")
        gone, cursor = tick(defs, instance, "lake_events", cursor)
        assert entities(cfg) == ["3", "k1"]  # delete_rows for people, keep for kept
        assert {r.obj.key: r.status for r in ledger.rows("people")}["people/a.jsonl"] == "removed"
        audit = EventStore(ledger).removals("people")
        assert [(a["key"], a["action"]) for a in audit if a["action"] == "entities_deleted"] == [
            ("people/a.jsonl", "entities_deleted")]
        assert [a["action"] for a in EventStore(ledger).removals("kept")] == ["kept"]
        with open_target(cfg, "catalog").transaction() as tx:
            assert tx.execute("SELECT count(*) FROM s3p_audit WHERE action='delete' AND object_key='people/a.jsonl'")[0][0] == 2

        # a removal the queue never told: the reconciling listing finds the object gone
        bucket.client.delete("people/b.jsonl")
        bucket.sqs.purge_queue(QueueUrl=bucket.queue_url)  # its notification is lost
        tick(defs, instance, "lake_reconcile", None)
        assert entities(cfg) == ["k1"]
        assert {r.obj.key: r.status for r in ledger.rows("people")}["people/b.jsonl"] == "removed"
