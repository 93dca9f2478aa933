"""The entity commands as a user types them (a subprocess on a pipelines file): `test-mapping` on a
local file and on the newest object in S3 (writing nothing), `catalog export` and `catalog audit`
after a run, and `infer`, whose starter blueprint and mapping are pasted back and run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from s3_pipelines.demo.sample_data import jsonl_gz

from .conftest import KEY_ENV, SECRET_ENV, airbyte_key, user


def cli(p, *args, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, **p.env, KEY_ENV: p.server.access_key, SECRET_ENV: p.server.secret_key}
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", *args, "--config", str(p.config)],
                       capture_output=True, text=True, env=env, cwd=p.root, timeout=120)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def test_test_mapping_on_a_file_and_on_the_latest_object_writes_nothing(catalog_pipeline, tmp_path):
    p = catalog_pipeline
    local = tmp_path / "sample.jsonl.gz"
    local.write_bytes(jsonl_gz([user(1), user(2, email="nope"), user(3, deleted=True), user(4, is_admin="yes")]))
    r = cli(p, "test-mapping", "--mapping", "users", "--file", str(local), "--format", "json", check=False)
    assert r.returncode == 1, r.stderr  # errors: a script sees them in the exit code
    out = json.loads(r.stdout)
    assert [e["identifier"] for e in out["entities"]] == ["U0001"]
    assert out["entities"][0] == {"blueprint": "user", "identifier": "U0001", "title": "user1",
                                  "properties": {"name": "user1", "is_admin": False, "email": "user1@example.com",
                                                 "tier": "pro"}, "relations": {"team": "T1"}}
    assert out["filtered_out"] == 1
    errors = {e["identifier"]: e for e in out["errors"]}
    assert set(errors) == {"U0002", "U0004"}
    assert "property email" in errors["U0002"]["message"] and errors["U0002"]["line"] == 2
    assert "property is_admin: expected boolean" in errors["U0004"]["message"]
    assert not (p.root / "state" / "catalog.duckdb").exists()  # nothing written

    older, newer = airbyte_key("users", 1_763_629_200), airbyte_key("users", 1_763_629_800)
    p.put(older, [user(10)])
    p.put(newer, [user(11), user(12)])
    latest = json.loads(cli(p, "test-mapping", "--mapping", "users", "--latest", "--format", "json").stdout)
    assert [e["identifier"] for e in latest["entities"]] == ["U0011", "U0012"]
    assert latest["errors"] == [] and latest["filtered_out"] == 0
    assert not (p.root / "state" / "catalog.duckdb").exists()


def test_catalog_export_and_audit_after_a_run(catalog_pipeline):
    p = catalog_pipeline
    key = airbyte_key("users", 1_763_629_200)
    part = p.put(key, [user(1), user(2), user(3, email="broken")])
    p.run("users", part)
    users = json.loads(cli(p, "catalog", "export", "--blueprint", "user", "--format", "json").stdout)
    assert [u["identifier"] for u in users] == ["U0001", "U0002"]
    assert set(users[0]) == {"blueprint", "identifier", "title", "properties", "relations"}  # no null icon/team
    teams = json.loads(cli(p, "catalog", "export", "--blueprint", "team", "--format", "json").stdout)
    assert [t["identifier"] for t in teams] == ["T0", "T1", "T2"]
    failures = json.loads(cli(p, "catalog", "audit", "--status", "failure", "--format", "json").stdout)
    assert len(failures) == 1
    f = failures[0]
    assert (f["object_key"], f["line"], f["identifier"], f["action"], f["status"]) == (key, 3, "U0003", "CREATE", "FAILURE")
    assert f["message"].startswith("property email:")
    everything = json.loads(cli(p, "catalog", "audit", "--format", "json").stdout)
    assert len(everything) == 3 + 3  # three users (one failed), three teams
    text = cli(p, "catalog", "audit", "--status", "failure").stdout
    assert "U0003" in text and "property email" in text


def test_infer_prints_a_starter_that_runs(catalog_pipeline):
    p = catalog_pipeline
    p.put(airbyte_key("users", 1_763_629_200), [user(i) for i in range(5)])
    printed = cli(p, "infer", "--stream", "users").stdout
    starter = yaml.safe_load(printed)
    assert {"blueprints", "mappings"} <= set(starter), printed
    [bp_name] = starter["blueprints"]
    props = starter["blueprints"][bp_name]["properties"]
    assert props["is_admin"]["type"] == "boolean" and props["name"]["type"] == "string"
    [mapping] = starter["mappings"]
    assert mapping["stream"] == "users" and mapping["blueprint"] == bp_name
    # pasted into the pipelines file in place of the hand-written sections, it validates and maps
    config = yaml.safe_load(p.config.read_text())
    config["blueprints"], config["mappings"] = starter["blueprints"], starter["mappings"]
    p.config.write_text(yaml.safe_dump(config))
    cli(p, "validate")
    local = p.root / "one.jsonl.gz"
    local.write_bytes(jsonl_gz([user(7)]))
    out = json.loads(cli(p, "test-mapping", "--mapping", mapping["name"], "--file", str(local), "--format", "json").stdout)
    assert out["errors"] == [] and len(out["entities"]) == 1
