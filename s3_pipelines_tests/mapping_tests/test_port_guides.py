"""Port's published Airbyte -> S3 guides (Slack, Okta, HiBob), their blueprints and mappings files
used unchanged: Airbyte-shaped objects in a local S3 server (moto) go through each stream's Dagster
job into a DuckDB catalog and a PostgreSQL catalog; both exports must equal what the `jq`
command-line oracle computes from the same records, and each other."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from s3_pipelines.catalog import audit_rows, export_entities
from s3_pipelines.targets import open_target

from . import port_guide_data as data
from .conftest import CatalogPipeline, write_config
from .jq_oracle import entity_writes, fold_creates, require_jq

GUIDES_DIR = Path(__file__).resolve().parents[3] / "shared" / "port-guides"
EPOCH = 1_763_629_200


def _config(p: CatalogPipeline, catalog: str) -> None:
    streams = "".join(f"""
  {g}:
    connection: lake
    select: {{prefixes: ["data/hook_{g}/"]}}
    format: jsonl
    listing: {{mode: start_after}}
    sensor: false""" for g in data.GUIDES)
    files = "".join(f"\n  - {GUIDES_DIR / g / 'blueprints.json'}" for g in data.GUIDES)
    mappings = "".join(f"\n  - {{port_mappings_file: {GUIDES_DIR / g / 'mappings.json'}, stream: {g}}}"
                       for g in data.GUIDES)
    write_config(p, catalog, f"\nblueprints_files:{files}\nmappings:{mappings}\n", streams=streams)


def _load(p: CatalogPipeline) -> dict[str, list[tuple[str, list[dict]]]]:
    """Put every guide's objects; returns guide -> [(key, records)] in key order."""
    import json

    objects: dict[str, list[tuple[str, list[dict]]]] = {}
    for g in data.GUIDES:
        for s, stream in enumerate(data.STREAMS[g]):
            for o, records in enumerate(data.objects(g, stream, seed=1)):
                epoch = EPOCH + 600 * o + s
                key = f"data/hook_{g}/{stream}/year=2025/month=11/20_{epoch * 1000}_0.jsonl.gz"
                p.put(key, records)
                objects.setdefault(g, []).append((key, json.loads(json.dumps(records))))
        objects[g].sort()
    return objects


def _expected(objects) -> dict[str, list[dict]]:
    """blueprint -> entities, computed by the oracle from the mappings files and the records."""
    import json

    writes = []
    for g, objs in objects.items():
        for mapping in json.loads((GUIDES_DIR / g / "mappings.json").read_text()):
            for key, records in objs:
                writes += entity_writes(mapping, records, key)[0]
    out: dict[str, list[dict]] = {}
    for (bp, _), e in sorted(fold_creates(writes).items()):
        out.setdefault(bp, []).append(e)
    return out, len(writes)


def _export(target, blueprints) -> dict[str, list[dict]]:
    return {bp: sorted(export_entities(target, bp), key=lambda e: e["identifier"]) for bp in blueprints}


@pytest.fixture
def pg_schema(pg_url):
    schema = f"guides_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_port_guides_run_unchanged_and_duckdb_postgres_and_the_jq_oracle_agree(catalog_pipeline, pg_url, pg_schema):
    require_jq()
    p = catalog_pipeline
    objects = _load(p)
    expected, n_writes = _expected(objects)
    assert set(expected) >= {"slack_channel", "slack_user", "slack_channel_membership", "okta_role", "okta_user",
                             "okta_permission", "okta_role_assignment", "hibob_payroll", "hibob_profile"}
    partition = p.partition_of(objects["slack"][0][0])

    exports = {}
    for name, catalog in [("duckdb", "{type: duckdb, path: state/catalog.duckdb}"),
                          ("postgres", f"{{type: postgres, url: '{pg_url}', schema: {pg_schema}}}")]:
        _config(p, catalog)
        for g in data.GUIDES:
            p.run(g, partition)
        target = open_target(p.load(), "catalog")
        assert audit_rows(target, status="failure") == []
        assert len(audit_rows(target)) == n_writes  # every entity write audited once
        exports[name] = _export(target, expected)

    assert exports["duckdb"] == expected
    assert exports["postgres"] == exports["duckdb"]
    # the values the guides care about survived: a number sent as a string, a search relation
    chan = {e["identifier"]: e for e in expected["slack_channel"]}["C00003"]
    assert chan["properties"]["num_members"] == int(data.objects("slack", "channels", 1)[0][3]["num_members"])
    assert chan["relations"]["users"] == {"combinator": "and", "rules": [
        {"property": "channel_id", "operator": "=", "value": "C00003"}]}
    assert expected["hibob_payroll"][0]["properties"]["creationdate"].endswith("T00:00:00Z")
