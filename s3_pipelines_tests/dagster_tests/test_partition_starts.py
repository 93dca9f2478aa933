"""Partitions start at the first arrival the ledger knows of (issue 14): a stream whose data arrived
today has today's partition only, and after a run every partition of its assets is materialized."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest

from s3_pipelines import ingest, partitions, selection
from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.dagster_defs.partitions import partitions_def_for
from s3_pipelines.dagster_defs.runner import run_pending
from s3_pipelines.ledger import Ledger
from s3_pipelines.partition_starts import resolve_starts

from .conftest import user_key

UTC = dt.timezone.utc


def today(shift_days: int = 0) -> str:
    return (dt.datetime.now(UTC) + dt.timedelta(days=shift_days)).strftime("%Y-%m-%d")


def partitioned(defs: dg.Definitions) -> dict[dg.AssetKey, dg.PartitionsDefinition]:
    graph = defs.resolve_asset_graph()
    return {k: graph.get(k).partitions_def for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}


@pytest.mark.parametrize("pipeline", ["moto"], indirect=True)
def test_no_start_partitions_from_the_first_arrival_and_a_run_fills_them_all(pipeline, monkeypatch):
    before = sorted(p.name for p in pipeline.root.iterdir())
    defs = build_definitions(pipeline.load())
    # nothing registered: today's partition only, and building the definitions made no state
    assert sorted(p.name for p in pipeline.root.iterdir()) == before
    pdefs = partitioned(defs)
    assert {k.to_user_string() for k in pdefs} == {"users/objects", "users/records", "orders/objects", "orders/records"}
    assert all(p.get_partition_keys() == [today()] for p in pdefs.values())

    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "run", "--config", str(pipeline.config)],
                       capture_output=True, text=True, env={**os.environ, **pipeline.env}, cwd=pipeline.root, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    cfg = pipeline.load()
    keys = {r.partition_key for name in cfg.streams for r in Ledger(cfg.ledger_path()).rows(name)}
    defs = build_definitions(cfg)  # a later load (the code server, a run's worker) starts where the ledger does
    for k, v in pipeline.env.items():
        monkeypatch.setenv(k, v)
    with dg.DagsterInstance.get() as instance:
        for key, pdef in partitioned(defs).items():
            assert pdef.get_first_partition_key() == min(keys)
            assert instance.get_materialized_partitions(key) == set(pdef.get_partition_keys()), key  # 100 % filled


@pytest.mark.parametrize("pipeline", ["moto"], indirect=True)
def test_a_configured_start_wins_and_older_objects_clamp_into_it(pipeline, monkeypatch):
    """One object written long before the configured start: it is loaded in the first partition."""
    start = today(-2)
    pipeline.config.write_text(pipeline.config.read_text().replace(
        "listing: {mode: start_after}", f"listing: {{mode: start_after}}\n    partitioning: {{start: {start}}}"))
    old_key = user_key(1_763_629_200)
    list_page = S3Client.list_page

    def aged(self, *a, **kw):  # S3 stamps objects when written: this one reads as written 40 days ago
        objs, token = list_page(self, *a, **kw)
        return [o if o.key != old_key else type(o)(o.bucket, o.key, o.etag, o.size, o.last_modified - dt.timedelta(days=40))
                for o in objs], token

    monkeypatch.setattr(S3Client, "list_page", aged)
    for k, v in pipeline.env.items():
        monkeypatch.setenv(k, v)
    outcomes = run_pending(pipeline.load(), ["users"], log=lambda m: None)
    assert [o.ok for o in outcomes] == [True] and outcomes[0].rows == 50
    cfg = pipeline.load()
    rows = {r.obj.key: r for r in Ledger(cfg.ledger_path()).rows("users")}
    assert rows[old_key].partition_key == start and {r.status for r in rows.values()} == {"loaded"}
    assert {r.partition_key for k, r in rows.items() if k != old_key} == {today()}
    pdef = partitioned(build_definitions(cfg))[dg.AssetKey(["users", "records"])]
    assert pdef.get_partition_keys() == [today(-2), today(-1), today()]
    # the stream without a start starts at its own first arrival
    assert partitioned(build_definitions(cfg))[dg.AssetKey(["orders", "records"])].get_partition_keys() == [today()]


@pytest.mark.parametrize("pipeline", ["moto"], indirect=True)
def test_a_process_loaded_before_the_first_arrival_agrees_with_later_ones(pipeline):
    """A code server loaded yesterday on an empty ledger (its start: yesterday) registers an old
    object today; a process loading now starts at the ledger's first key: that key must be in both."""
    yesterday = dt.datetime.now(UTC) - dt.timedelta(days=1)
    early = resolve_starts(pipeline.load(), now=yesterday).streams["users"]
    assert partitions_def_for(early).get_first_partition_key() == today(-1)
    cfg = pipeline.load()
    ledger = Ledger(cfg.ledger_path())
    client = S3Client.from_config(cfg.s3_connection("lake"))
    found = list(selection.iter_selected(client, early.select))
    aged = [type(o)(o.bucket, o.key, o.etag, o.size, o.last_modified - dt.timedelta(days=30)) for o in found]
    assert len(ledger.register("users", aged, ingest.partition_of(early))) == 2  # older than any start
    keys = {r.partition_key for r in ledger.rows("users")}
    assert keys == {today()}  # the window of registration, not the provisional start
    later = partitions_def_for(resolve_starts(pipeline.load()).streams["users"])
    for pdef in (partitions_def_for(early), later):
        assert keys <= set(pdef.get_partition_keys())
    assert later.get_partition_keys() == [today()]
    assert partitions.window(early.partitioning, today(-1))[0] == partitions.window(early.partitioning, today(-1))[1]
