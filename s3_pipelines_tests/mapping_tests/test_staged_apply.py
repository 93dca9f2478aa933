"""Large objects are applied in committed chunks staged out of sight and published at the end
(catalog/staged.py): a process killed between chunks leaves nothing of the object visible (no
entity, edge or audit row), and the next apply applies the object exactly once, every audit seq
once. On PostgreSQL the dead load's committed chunks stay in its (unlogged) scratch tables, listed
in s3p_pending_loads, until that apply drops them; on DuckDB the scratch tables are temporary
tables of the dead process's connection, so the kill leaves nothing at all: no scratch table, no
pending load. Staged applies leave what one transaction leaves, on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from s3_pipelines.catalog import apply as apply_module
from s3_pipelines.catalog import audit_rows, entity_counts, export_entities
from s3_pipelines.catalog.schema import RELATIONS
from s3_pipelines.catalog.staged import pending_loads
from s3_pipelines.targets.duckdb_target import DuckDBTarget

from . import test_vector_bulk as vb
from .helpers import Catalog, batches, config, obj

N, BATCH, CHUNK = 120, 10, 20  # 12 batches, 6 chunks of 2 batches


def _target(spec: str):
    kind, _, rest = spec.partition(":")
    if kind == "duckdb":
        return DuckDBTarget(rest)
    from s3_pipelines.targets.postgres_target import PostgresTarget

    url, _, schema = rest.rpartition("|")
    return PostgresTarget(url, schema)


def _spec(target) -> str:
    if isinstance(target, DuckDBTarget):
        return f"duckdb:{target.path}"
    return f"postgres:{target._url}|{target.schema}"


def _apply(target, key: str = "users/big.jsonl"):
    cat = Catalog(config(vb.BLUEPRINTS, vb.MAPPINGS), target)
    whole = batches(vb._records(0, N))
    sliced = [b.slice(i, BATCH) for b in whole for i in range(0, b.num_rows, BATCH)]
    return apply_module.apply_object(target, cat.ec, cat.compiled["accounts"], sliced, obj(key),
                                     stream="users", partition="2026-11-20", run_id="run1")


def child(spec: str) -> None:
    """Run in a child process: apply the big object (the environment says where to die)."""
    _apply(_target(spec))


def _scratch_tables(target) -> list[str]:
    with target.transaction() as tx:
        rows = tx.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 's3p_stage_%'"
                          + (" AND table_schema = ?" if not isinstance(target, DuckDBTarget) else ""),
                          () if isinstance(target, DuckDBTarget) else (target.schema,))
    return [r[0] for r in rows]


def test_a_kill_between_chunks_leaves_nothing_visible_and_the_rerun_applies_once(sql_target, monkeypatch):
    env = {**os.environ, apply_module.CHUNK_ROWS_ENV: str(CHUNK), apply_module.KILL_AFTER_CHUNK_ENV: "2"}
    code = f"from s3_pipelines_tests.mapping_tests.test_staged_apply import child; child({_spec(sql_target)!r})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILLed after committing two chunks

    with sql_target.transaction() as tx:
        dead = pending_loads(tx)
        assert not tx.is_loaded("mapping:accounts", obj("users/big.jsonl"))
        if isinstance(sql_target, DuckDBTarget):  # temporary scratch tables went with the connection
            assert dead == []
        else:
            staged = tx.execute(f"SELECT COUNT(*) FROM s3p_stage_{dead[0][0]}_e")[0][0]
            assert len(dead) == 1 and staged > 0  # two chunks' entities committed ...
    assert sorted(_scratch_tables(sql_target)) == ([] if isinstance(sql_target, DuckDBTarget) else
                                                   [f"s3p_stage_{dead[0][0]}_{p}" for p in "aer"])
    # ... but out of sight:
    assert export_entities(sql_target) == [] and entity_counts(sql_target) == {}
    assert audit_rows(sql_target) == []
    with sql_target.transaction() as tx:
        assert tx.execute(f"SELECT COUNT(*) FROM {RELATIONS}")[0][0] == 0

    monkeypatch.setenv(apply_module.CHUNK_ROWS_ENV, str(CHUNK))
    done = _apply(sql_target)
    assert done.status == "applied" and done.records == N
    ids = [e["identifier"] for e in export_entities(sql_target)]
    audit = audit_rows(sql_target)
    assert len(ids) == len(set(ids)) == done.counts.created == len(audit) > 0
    assert sorted(a["identifier"] for a in audit) == sorted(ids)
    assert [a["seq"] for a in audit] == list(range(1, len(audit) + 1))
    with sql_target.transaction() as tx:
        assert pending_loads(tx) == []
    assert _scratch_tables(sql_target) == []
    assert _apply(sql_target).status == "skipped"  # exactly once
    assert len(audit_rows(sql_target)) == len(audit)


def test_staged_applies_leave_what_one_transaction_leaves(tmp_path, monkeypatch, sql_target):
    """The bulk-versus-row objects of test_vector_bulk, each staged (a chunk of one record): a
    batch the bulk path refuses is applied by the publish transaction, as one transaction did."""
    want = vb._load(DuckDBTarget(tmp_path / "whole.duckdb"), "auto", monkeypatch, [])
    monkeypatch.setenv(apply_module.CHUNK_ROWS_ENV, "1")
    got = vb._load(sql_target, "auto", monkeypatch, [])
    assert got == want
    assert _scratch_tables(sql_target) == []
