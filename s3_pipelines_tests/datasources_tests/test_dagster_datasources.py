"""Data sources in Dagster: external assets with their metadata, refreshed by the observation
sensor; a stream selecting a data source loads its prefix; a disabled data source makes the
stream's sensor skip with the reason and its asset say disabled; a removed one fails the
definitions (validate) naming the stream."""

from __future__ import annotations

import dagster as dg
import pytest

from s3_pipelines.config import ConfigError, load_config
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.datasources import Registry, create, delete

from .conftest import write_config

STREAMS = """\
streams:
  research_stream:
    connection: lake
    select: {datasource: research}
    format: jsonl
  sales_stream:
    connection: lake
    select: {datasource: sales}
    format: jsonl
"""


def _tick(defs, instance, name):
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(instance=instance, resources=defs.resources, definitions=defs) as ctx:
        return sensor.evaluate_tick(ctx)


def test_assets_observation_and_disabled_sources(project, moto_server):
    project.config = write_config(project.root, moto_server.endpoint_url, project.bucket,
                                  datasources="datasources:\n  sales: {connection: lake, prefix: sales/}\n", extra=STREAMS)
    cfg = load_config(project.config)
    create(cfg, "research", "lake", "research/")
    defs = build_definitions(load_config(project.config))
    research_key, sales_key = dg.AssetKey(["datasources", "research"]), dg.AssetKey(["datasources", "sales"])
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    assert specs[research_key].group_name == "datasources" and specs[research_key].kinds == {"s3"}
    assert specs[research_key].metadata["status"] == "active" and specs[sales_key].metadata["prefix"] == "sales/"
    # lineage: the stream's objects come from the data source
    objects = specs[dg.AssetKey(["research_stream", "objects"])]
    assert [d.asset_key for d in objects.deps] == [research_key]

    with dg.DagsterInstance.ephemeral() as instance:
        result = _tick(defs, instance, "datasources_observation_sensor")
        obs = {e.asset_key: e.metadata for e in result.asset_events}
        assert set(obs) == {research_key, sales_key}
        assert obs[research_key]["object_count"].value == 2 and obs[research_key]["bytes"].value == 40
        assert obs[sales_key]["object_count"].value == 1 and obs[sales_key]["status"].value == "active"
        assert obs[research_key]["disabled"].value is False and obs[research_key]["newest_object_at"].value

        # the stream of an active data source lists the data source's prefix
        first = _tick(defs, instance, "research_stream_sensor")
        assert len(first.run_requests) == 1
        keys = {r.obj.key for r in Registry.open(cfg).ledger.rows("research_stream")}
        assert keys == {"research/a.jsonl", "research/b/c.jsonl"}

        # disabled: the stream's sensor skips saying why, without listing; the asset says disabled
        delete(cfg, "research", user="ops")
        project.s3.put_object(Bucket=project.bucket, Key="research/new.jsonl", Body=b'{"id": 3}\n')
        skipped = _tick(defs, instance, "research_stream_sensor")
        assert not skipped.run_requests
        assert "data source 'research' is disabled" in skipped.skip_message
        assert "by ops" in skipped.skip_message
        obs = {e.asset_key: e.metadata for e in _tick(defs, instance, "datasources_observation_sensor").asset_events}
        assert obs[research_key]["disabled"].value is True and obs[research_key]["status"].value == "disabled"
        assert obs[research_key]["disabled_by"].value == "ops"
        assert obs[research_key]["object_count"].value == 2  # not listed again while disabled
        specs = {s.key: s for s in build_definitions(load_config(project.config)).resolve_all_asset_specs()}
        assert specs[research_key].metadata["status"] == "disabled" and "DISABLED" in specs[research_key].description
        # the other stream still runs
        assert _tick(defs, instance, "sales_stream_sensor").run_requests

        # removed: the running definitions' sensor skips, and new definitions fail naming the stream
        delete(cfg, "research", user="ops")
        gone = _tick(defs, instance, "research_stream_sensor")
        assert "data source 'research' was deleted" in gone.skip_message
        with pytest.raises(ConfigError, match=r"streams\.research_stream\.select\.datasource: no data source named "
                                              r"'research' \(deleted .* by ops\)"):
            build_definitions(load_config(project.config))
