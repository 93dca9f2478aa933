"""Entity assets end to end: objects in a real local S3 server (moto) -> the stream job -> records
-> entities in the catalog, through Dagster's `<stream>_job`."""

from __future__ import annotations

import dagster as dg

from s3_pipelines.catalog import audit_rows, export_entities
from s3_pipelines.targets import open_target

from .conftest import airbyte_key, user

USERS = dg.AssetKey(["users", "entities", "users"])


def _mat(result, key):
    mats = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == key]
    assert len(mats) == 1
    return {k: v.value for k, v in mats[0].metadata.items()}


def _check(result, key, name="audit_failures"):
    evals = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
             and e.event_specific_data.asset_key == key and e.event_specific_data.check_name == name]
    assert len(evals) == 1
    return evals[0]


def test_stream_job_maps_records_into_entities_with_audit(catalog_pipeline):
    p = catalog_pipeline
    records = [user(i) for i in range(20)] + [user(20, email="not-an-email"), user(21, deleted=True)]
    key = airbyte_key("users", 1_763_629_200)
    part = p.put(key, records)
    result = p.run("users", part)

    md = _mat(result, USERS)
    assert (md["objects_applied"], md["records"], md["filtered_out"]) == (1, 22, 1)
    assert (md["created"], md["updated"], md["failed"], md["partition_failures"]) == (20, 0, 1, 1)
    check = _check(result, USERS)
    assert not check.passed
    teams_check = _check(result, dg.AssetKey(["users", "entities", "teams"]))
    assert teams_check.passed

    target = open_target(p.load(), "catalog")
    users = export_entities(target, "user")
    assert [u["identifier"] for u in users] == [f"U{i:04d}" for i in range(20)]
    assert users[4] == {"blueprint": "user", "identifier": "U0004", "title": "user4", "icon": None, "team": None,
                        "properties": {"name": "user4", "is_admin": False, "email": "user4@example.com", "tier": "free"},
                        "relations": {"team": "T1"}}
    assert [t["identifier"] for t in export_entities(target, "team")] == ["T0", "T1", "T2"]
    failures = audit_rows(target, status="failure")
    assert len(failures) == 1
    f = failures[0]
    assert (f["object_key"], f["line"], f["identifier"], f["action"], f["mapping"]) == (key, 21, "U0020", "CREATE", "users")
    assert "property email" in f["message"] and "not-an-email" in f["message"] and "email address" in f["message"]
    assert f["run_id"] == result.run_id and f["stream"] == "users" and f["partition_key"] == part


def test_rerun_changes_nothing_and_changed_object_updates(catalog_pipeline):
    p = catalog_pipeline
    key = airbyte_key("users", 1_763_629_200)
    part = p.put(key, [user(i) for i in range(5)])
    p.run("users", part)
    target = open_target(p.load(), "catalog")
    before, audit_before = export_entities(target, "user"), audit_rows(target)

    again = p.run("users", part)  # same object version: nothing to apply
    md = _mat(again, USERS)
    assert (md["objects_applied"], md["objects_already_applied"], md["created"], md["updated"]) == (0, 1, 0, 0)
    assert export_entities(target, "user") == before and audit_rows(target) == audit_before

    # the same key overwritten (a new ETag): the stream reloads it, its entities are updated
    part2 = p.put(key, [user(i, name=f"renamed{i}") for i in range(3)])
    changed = p.run("users", part2)
    md = _mat(changed, USERS)
    assert (md["objects_applied"], md["created"], md["updated"]) == (1, 0, 3)
    after = {u["identifier"]: u for u in export_entities(target, "user")}
    assert [after[f"U{i:04d}"]["title"] for i in range(5)] == ["renamed0", "renamed1", "renamed2", "user3", "user4"]
    assert after["U0000"]["properties"]["name"] == "renamed0"
    updates = [r for r in audit_rows(target) if r["action"] == "UPDATE" and r["mapping"] == "users"]
    assert len(updates) == 3 and {r["run_id"] for r in updates} == {changed.run_id}


def test_delete_mapping_removes_entities(catalog_pipeline):
    p = catalog_pipeline
    part = p.put(airbyte_key("users", 1_763_629_200), [user(i) for i in range(6)])
    p.run("users", part)
    dpart = p.put(airbyte_key("departures", 1_763_632_800), [{"id": "U0001"}, {"id": "U0004"}, {"id": "U9999"}])
    result = p.run("departures", dpart)
    md = _mat(result, dg.AssetKey(["departures", "entities", "departures"]))
    assert (md["deleted"], md["failed"]) == (3, 0)  # U9999: nothing to delete, still a success
    target = open_target(p.load(), "catalog")
    assert [u["identifier"] for u in export_entities(target, "user")] == ["U0000", "U0002", "U0003", "U0005"]
    deletes = [(r["identifier"], r["message"]) for r in audit_rows(target) if r["action"] == "DELETE"]
    assert deletes == [("U0001", None), ("U0004", None), ("U9999", "no such entity: nothing to delete")]
