"""The catalog's bulk path (compiled mapping -> columns -> Arrow writes) leaves exactly what the row
path (jq engine -> entity results -> CatalogWriter.apply) leaves: entities, relation edges, audit
rows and counts, on new entities (bulk), merges into existing ones and invalid values (row path)."""

from __future__ import annotations


from s3_pipelines.catalog import apply as apply_module
from s3_pipelines.catalog import audit_rows, export_entities
from s3_pipelines.catalog.schema import RELATIONS
from s3_pipelines.targets.duckdb_target import DuckDBTarget

from .helpers import Catalog, config, obj

BLUEPRINTS = {
    "team": {"properties": {}},
    "user": {"properties": {}},
    "account": {"properties": {"status": {"type": "string", "enum": ["active", "pending"]},
                               "amount": {"type": "number"}, "count": {"type": "number"},
                               "createdAt": {"type": "string", "format": "date-time"},
                               "region": {"type": "string"}},
                "required": ["status"],
                "relations": {"team": {"target": "team"}, "owner": {"target": "user"}}},
}
MAPPINGS = [{"name": "accounts", "stream": "users", "blueprint": "account",
             "filter": '.body.status != "archived" and .body.active',
             "entity": {"identifier": ".body.key", "title": ".body.name",
                        "properties": {"status": ".body.status", "amount": ".body.amount", "count": ".body.count",
                                       "createdAt": ".body.created_at", "region": ".body.meta.region"},
                        "relations": {"team": ".body.meta.owner.team", "owner": ".body.email"}}}]


def _records(start: int, n: int, **override):
    out = []
    for i in range(start, start + n):
        r = {"key": f"k-{i}", "name": f"n {i}", "status": ["active", "pending", "archived"][i % 3], "active": i % 4 != 0,
             "amount": i * 1.25, "count": i, "created_at": f"2026-11-{1 + i % 28:02d}T12:00:00Z",
             "email": f"u{i}@example.com" if i % 5 else None,
             "meta": {"region": "eu", "owner": {"team": f"t{i % 3}"}}}
        r.update(override)
        out.append(r)
    return out


OBJECTS = [
    ("users/1.jsonl", _records(0, 60)),  # all new: bulk
    ("users/2.jsonl", _records(40, 40)),  # k-40..k-59 exist: merged by the row path
    ("users/3.jsonl", _records(100, 10, status="closed")),  # fails the enum: row path messages
    ("users/4.jsonl", _records(200, 10, created_at="yesterday")),  # fails the format
    ("users/5.jsonl", _records(300, 10, email="not an id")),  # relation identifier with a space
    ("users/6.jsonl", _records(400, 10) + _records(400, 3)),  # repeats inside the object
    ("users/7.jsonl", _records(500, 10, name='Zoë "the" \\ one\n', count=2**60 + 1,
                               meta={"region": "日本\t", "owner": {"team": None}})),  # JSON escapes, big integers
    ("users/8.jsonl", _records(600, 10, amount=3.0, count=None, meta=None)),  # integral floats, nulls
]


def _load(target, engine: str, monkeypatch, used: list) -> tuple:
    monkeypatch.setenv("S3P_MAPPING_ENGINE", engine)
    real = apply_module.bulk_create

    def spy(w, cols):
        ok = real(w, cols)
        used.append(ok)
        return ok

    monkeypatch.setattr(apply_module, "bulk_create", spy)
    cat = Catalog(config(BLUEPRINTS, MAPPINGS), target)
    counts = []
    for key, records in OBJECTS:
        r = cat.apply("accounts", records, obj(key))
        counts.append((r.records, r.filtered_out, r.counts.created, r.counts.updated, r.counts.failed))
    audit = [{k: v for k, v in a.items() if k not in ("time", "run_id", "partition_key")} for a in audit_rows(target)]
    with target.transaction() as tx:
        edges = sorted(tx.execute(f"SELECT * FROM {RELATIONS}"))
    return export_entities(target), audit, edges, counts


def test_bulk_path_equals_row_path(tmp_path, monkeypatch, sql_target):
    row_used: list = []
    want = _load(DuckDBTarget(tmp_path / "rows.duckdb"), "jq", monkeypatch, row_used)
    assert row_used == []  # the jq engine gives results, never columns
    bulk_used: list = []
    got = _load(sql_target, "auto", monkeypatch, bulk_used)
    assert bulk_used == [True, False, False, False, False, False, True, True]  # per object: bulk or row path
    assert got[3] == want[3]
    assert got[2] == want[2]
    assert got[1] == want[1]
    assert got[0] == want[0]


