"""`s3-pipelines test-mapping --explain`: per expression, compiled (vectorized over Arrow) or jq,
and why not compiled; the entities are the same either way."""

from __future__ import annotations

import json

from s3_pipelines.demo.sample_data import jsonl_gz

from .conftest import user
from .test_cli import cli


def test_explain_lists_every_expression_with_its_engine(catalog_pipeline, tmp_path):
    p = catalog_pipeline
    local = tmp_path / "sample.jsonl.gz"
    local.write_bytes(jsonl_gz([user(1), user(2, email="nope"), user(3, deleted=True)]))
    # user 2's email is invalid: test-mapping reports it and exits 1 (errors are not success)
    with_explain = cli(p, "test-mapping", "--mapping", "users", "--file", str(local), "--explain", "--format", "json",
                       check=False)
    without = cli(p, "test-mapping", "--mapping", "users", "--file", str(local), "--format", "json", check=False)
    assert with_explain.returncode == without.returncode == 1
    out, plain = json.loads(with_explain.stdout), json.loads(without.stdout)
    assert "explain" not in plain and {k: v for k, v in out.items() if k != "explain"} == plain
    rows = {d["expression"]: d for d in out["explain"]}
    assert list(rows) == ["filter", "entity.identifier", "entity.title", "entity.properties.name",
                          "entity.properties.is_admin", "entity.properties.email", "entity.properties.tier",
                          "entity.relations.team"]
    assert rows["filter"]["jq"] == ".body.deleted != true"
    assert all(d["engine"] == "compiled" and d["why"] is None for d in out["explain"])

    text = cli(p, "test-mapping", "--mapping", "teams", "--file", str(local), "--explain", check=False).stdout
    assert "expressions:" in text
    line = next(ln for ln in text.splitlines() if "entity.properties.name" in ln)
    assert "compiled" in line and '"Team " + .body.team' in line
