"""Catalog semantics on DuckDB and PostgreSQL: merge upserts (a later record wins), validation
failures that do not stop other entities, deletes with dependents, idempotent objects."""

from __future__ import annotations

import pytest

from s3_pipelines.catalog import audit_rows, export_entities

from .helpers import Catalog, config, obj

BLUEPRINTS = {
    "team": {"properties": {"name": {"type": "string"}}},
    "user": {"properties": {"name": {"type": "string"}, "age": {"type": "number"}, "tags": {"type": "array"}},
             "required": ["name"],
             "relations": {"team": {"target": "team", "required": True}, "buddy": {"target": "user"}}},
    "badge": {"properties": {}, "relations": {"owner": {"target": "user", "required": True}}},
}
MAPPINGS = [
    {"name": "users", "stream": "users", "blueprint": "user",
     "entity": {"identifier": ".body.id", "title": ".body.title",
                "properties": {"name": ".body.name", "age": ".body.age"},
                "relations": {"team": ".body.team", "buddy": ".body.buddy"}}},
    {"name": "user_tags", "stream": "users", "blueprint": "user",
     "entity": {"identifier": ".body.id", "properties": {"tags": ".body.tags"}}},
    {"name": "teams", "stream": "users", "blueprint": "team", "entity": {"identifier": ".body.id"}},
    {"name": "badges", "stream": "users", "blueprint": "badge",
     "entity": {"identifier": ".body.id", "relations": {"owner": ".body.owner"}}},
    {"name": "drop_teams", "stream": "gone", "blueprint": "team", "operation": "delete",
     "entity": {"identifier": ".body.id"}},
    {"name": "drop_teams_only", "stream": "gone", "blueprint": "team",
     "operation": {"type": "delete", "deleteDependents": False}, "entity": {"identifier": ".body.id"}},
    {"name": "drop_users", "stream": "gone", "blueprint": "user", "operation": "delete",
     "entity": {"identifier": ".body.id"}},
]


@pytest.fixture
def cat(sql_target):
    return Catalog(config(BLUEPRINTS, MAPPINGS), sql_target)


def _ids(cat, bp):
    return [e["identifier"] for e in export_entities(cat.target, bp)]


def test_create_merges_given_fields_and_a_later_record_wins(cat):
    r = cat.apply("users", [
        {"id": "u1", "title": "First", "name": "Ann", "age": 30, "team": "t1"},
        {"id": "u1", "title": "Second", "name": "Ann B", "age": 31, "team": "t1", "buddy": "u2"},
    ])
    assert (r.counts.created, r.counts.updated, r.counts.failed) == (1, 1, 0)
    cat.apply("user_tags", [{"id": "u1", "tags": ["a", "b"]}])  # another mapping merges one property
    [u] = export_entities(cat.target, "user")
    assert u == {"blueprint": "user", "identifier": "u1", "title": "Second", "icon": None, "team": None,
                 "properties": {"name": "Ann B", "age": 31, "tags": ["a", "b"]},
                 "relations": {"team": "t1", "buddy": "u2"}}
    assert [(a["action"], a["status"]) for a in audit_rows(cat.target)] == [
        ("CREATE", "SUCCESS"), ("UPDATE", "SUCCESS"), ("UPDATE", "SUCCESS")]


def test_invalid_entity_is_not_written_and_the_others_go_on(cat):
    r = cat.apply("users", [
        {"id": "u1", "name": "Ann", "team": "t1"},
        {"id": "u2", "name": "Bob", "age": "old", "team": "t1"},  # wrong type
        {"id": "u3", "team": "t1"},  # required property missing
        {"id": "u 4", "name": "Cy", "team": "t1"},  # identifier pattern
        {"id": "u5", "name": "Di"},  # required relation missing
        {"id": 6, "name": "Ed", "team": "t1"},  # identifier not a string
        {"id": "u7", "name": "Flo", "team": ["t1", "t2"]},  # one relation, a list given
    ])
    assert (r.counts.created, r.counts.failed) == (1, 6)
    assert _ids(cat, "user") == ["u1"]
    msgs = {a["line"]: a["message"] for a in audit_rows(cat.target, status="failure")}
    assert msgs[2] == 'property age: expected number, got string "old"'
    assert msgs[3] == "property name: required, but missing"
    assert "identifier \"u 4\"" in msgs[4] and "only letters, digits" in msgs[4]
    assert msgs[5] == "relation team: required, but missing"
    assert msgs[6].startswith("identifier must be a string, got number 6") and "tostring" in msgs[6]
    assert msgs[7].startswith("relation team: relates to one team (many: false), got a list")


def test_an_update_that_breaks_the_blueprint_keeps_the_old_entity(cat):
    cat.apply("users", [{"id": "u1", "name": "Ann", "age": 30, "team": "t1"}])
    r = cat.apply("users", [{"id": "u1", "name": None, "age": 31, "team": "t1"}])
    assert (r.counts.updated, r.counts.failed) == (0, 1)
    [u] = export_entities(cat.target, "user")
    assert u["properties"] == {"name": "Ann", "age": 30}
    [f] = audit_rows(cat.target, status="failure")
    assert (f["action"], f["message"]) == ("UPDATE", "property name: required, but missing")


def test_delete_removes_dependents_with_required_relations_transitively(cat):
    cat.apply("teams", [{"id": "t1"}, {"id": "t2"}])
    cat.apply("users", [{"id": "u1", "name": "A", "team": "t1"}, {"id": "u2", "name": "B", "team": "t2", "buddy": "u1"}])
    cat.apply("badges", [{"id": "b1", "owner": "u1"}, {"id": "b2", "owner": "u2"}])
    r = cat.apply("drop_teams", [{"id": "t1"}], obj("gone/1.jsonl"))
    assert (r.counts.deleted, r.counts.failed) == (3, 0)  # t1, then u1 (team is required), then b1 (owner)
    assert (_ids(cat, "team"), _ids(cat, "user"), _ids(cat, "badge")) == (["t2"], ["u2"], ["b2"])
    # u2's buddy relation is not required: u2 stays and keeps the identifier
    assert export_entities(cat.target, "user")[0]["relations"] == {"team": "t2", "buddy": "u1"}
    deletes = [(a["blueprint"], a["identifier"], a["message"]) for a in audit_rows(cat.target) if a["action"] == "DELETE"]
    assert deletes == [("team", "t1", None),
                       ("user", "u1", "dependent of team 't1' (required relation team)"),
                       ("badge", "b1", "dependent of user 'u1' (required relation owner)")]


def test_delete_with_dependents_false_fails_when_dependents_exist(cat):
    cat.apply("teams", [{"id": "t1"}, {"id": "t2"}])
    cat.apply("users", [{"id": "u1", "name": "A", "team": "t1"}])
    r = cat.apply("drop_teams_only", [{"id": "t1"}, {"id": "t2"}], obj("gone/2.jsonl"))
    assert (r.counts.deleted, r.counts.failed) == (1, 1)
    assert _ids(cat, "team") == ["t1"] and _ids(cat, "user") == ["u1"]
    [f] = audit_rows(cat.target, status="failure")
    assert f["identifier"] == "t1" and "1 entity has a required relation to it" in f["message"]
    assert "deleteDependents is false" in f["message"]


def test_delete_then_create_in_one_object_follows_record_order(cat):
    cat.apply("users", [{"id": "u1", "name": "A", "team": "t1"}])
    cat.apply("drop_users", [{"id": "u1"}], obj("gone/3.jsonl"))
    assert _ids(cat, "user") == []
    cat.apply("users", [{"id": "u1", "name": "Again", "team": "t1"}])
    [u] = export_entities(cat.target, "user")
    assert u["properties"] == {"name": "Again", "age": None}  # not the old entity's (missing reads as null)


def test_the_same_object_version_applies_once(cat):
    o = obj("users/x.jsonl", "etag1")
    first = cat.apply("users", [{"id": "u1", "name": "A", "team": "t1"}], o)
    again = cat.apply("users", [{"id": "u1", "name": "CHANGED", "team": "t1"}], o)
    assert (first.status, again.status) == ("applied", "skipped")
    assert export_entities(cat.target, "user")[0]["properties"] == {"name": "A", "age": None}
    assert len(audit_rows(cat.target)) == 1
    newer = cat.apply("users", [{"id": "u1", "name": "B", "team": "t1"}], obj("users/x.jsonl", "etag2"))
    assert newer.status == "applied" and export_entities(cat.target, "user")[0]["properties"] == {"name": "B", "age": None}


def test_a_jq_runtime_error_is_an_audit_failure_with_message_key_and_line(cat):
    cfg = config(BLUEPRINTS, [{"name": "m", "stream": "users", "blueprint": "user",
                               "entity": {"identifier": ".body.id", "properties": {"name": ".body.name | ascii_downcase"},
                                          "relations": {"team": '"t"'}}}])
    c = Catalog(cfg, cat.target)
    o = obj("users/err.jsonl")
    r = c.apply("m", [{"id": "u1", "name": "ANN"}, {"id": "u2", "name": 5}, {"id": "u3", "name": "CY"}], o)
    assert (r.counts.created, r.counts.failed) == (2, 1)
    [f] = audit_rows(cat.target, status="failure")
    assert (f["object_key"], f["line"], f["identifier"]) == ("users/err.jsonl", 2, "u2")
    assert f["message"].startswith("jq error in entity.properties.name:") and "explode input must be a string" in f["message"]
    assert [e["properties"]["name"] for e in export_entities(cat.target, "user")] == ["ann", "cy"]
