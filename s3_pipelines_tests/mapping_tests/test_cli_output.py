"""What `test-mapping` and `infer` tell a user (issue 14): the object read, the entity's fields, an
exit code that says when there were errors; the bad records `infer` skipped, and no envelope
metadata proposed as schema."""

from __future__ import annotations

import gzip
import json

import yaml

from .conftest import airbyte_key, user
from .test_cli import cli


def test_test_mapping_latest_says_what_it_read_and_shows_fields(catalog_pipeline):
    p = catalog_pipeline
    older, newer = airbyte_key("users", 1_763_629_200), airbyte_key("users", 1_763_629_800)
    p.put(older, [user(10)])
    p.put(newer, [user(11), user(12)])
    r = cli(p, "test-mapping", "--mapping", "users", "--latest")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"read s3://{p.bucket}/{newer} (the newest object of stream users"), lines[0]
    assert "2 record(s) -> 2 entities, 0 filtered out, 0 error(s)" in lines[1]
    assert "  user U0011  user11" in lines
    assert '    properties.email: "user11@example.com"' in lines
    assert '    relations.team: "T2"' in lines
    out = json.loads(cli(p, "test-mapping", "--mapping", "users", "--latest", "--format", "json").stdout)
    assert out["object"]["uri"] == f"s3://{p.bucket}/{newer}" and out["records"] == 2
    assert "icon" not in out["entities"][0] and "team" not in out["entities"][0]  # no nulls printed

    p.put(airbyte_key("users", 1_763_630_400), [user(13, email="broken")])
    r = cli(p, "test-mapping", "--mapping", "users", "--latest", check=False)
    assert r.returncode == 1 and "1 error(s)" in r.stdout and "property email" in r.stdout


def test_infer_reports_skipped_records_and_keeps_airbyte_fields_out_of_the_schema(catalog_pipeline):
    p = catalog_pipeline
    good = "\n".join(json.dumps({"_airbyte_raw_id": f"r{i}", "_airbyte_extracted_at": "2026-11-20T09:00:00Z",
                                 "_airbyte_meta": {}, "_airbyte_data": user(i)}) for i in range(3))
    key = airbyte_key("users", 1_763_629_200)
    p.s3.put_object(Bucket=p.bucket, Key=key, Body=gzip.compress((good + "\n{not json\n").encode()))
    printed = cli(p, "infer", "--stream", "users").stdout
    assert "# 1 bad record(s) skipped" in printed and f"{key} line 4:" in printed, printed
    starter = yaml.safe_load(printed)
    columns = [c["name"] for c in starter["streams"]["users"]["schema"]]
    assert "id" in columns and not [c for c in columns if c.startswith("_airbyte_")], columns
