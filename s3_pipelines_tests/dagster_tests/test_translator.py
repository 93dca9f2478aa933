"""The translator is the one place that names assets: a subclass changes keys, groups, owners
and tags, and everything built on them (dependencies, jobs, checks) follows."""

import dagster as dg

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import S3PipelinesAssetData, S3PipelinesTranslator, build_definitions
from s3_pipelines_tests.reliability_tests import crash_run


class Prefixed(S3PipelinesTranslator):
    def get_asset_spec(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(key=spec.key.with_prefix("acme"), group_name="ingest").merge_attributes(
            owners=["team:data-platform"], tags={"layer": data.role})


def _cfg(tmp_path):
    return load_config(crash_run.write_config(tmp_path, "http://127.0.0.1:9", "crash-bucket"))


def test_default_names(tmp_path):
    graph = build_definitions(_cfg(tmp_path)).resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"events/objects", "events/records", "events/entities/events", "tables/event_rows"}
    table = graph.get(dg.AssetKey(["tables", "event_rows"]))
    assert table.group_name == "events" and set(table.kinds) == {"duckdb"}
    schema = table.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == ["id", "n", "obj"]
    assert table.metadata["dagster/table_name"] == "catalog.event_rows"
    # Polaris' default limit (2^31 - 1) is no limit, and the definition says so (issue 14)
    assert table.metadata["max_parse_exceptions"] == "no limit"
    records = graph.get(dg.AssetKey(["events", "records"]))
    objects = graph.get(dg.AssetKey(["events", "objects"]))
    assert isinstance(objects.metadata["select"], dg.JsonMetadataValue)  # a JSON value, not JSON text
    assert "catalog catalog" not in graph.get(dg.AssetKey(["events", "entities", "events"])).description
    assert records.metadata["on_error"] == "skip_record"


def test_a_subclass_renames_everything_and_dependencies_follow(tmp_path):
    defs = build_definitions(_cfg(tmp_path), translator=Prefixed())
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"acme/events/objects", "acme/events/records", "acme/events/entities/events",
                    "acme/tables/event_rows"}
    records = dg.AssetKey(["acme", "events", "records"])
    for key in (["acme", "events", "entities", "events"], ["acme", "tables", "event_rows"]):
        node = graph.get(dg.AssetKey(key))
        assert node.parent_keys == {records}
        assert node.group_name == "ingest" and node.owners == ["team:data-platform"]
    assert graph.get(records).tags["layer"] == "records"
    assert {c.to_user_string() for c in graph.asset_check_keys} == {
        "acme/events/records:parse_errors", "acme/events/entities/events:audit_failures"}
    job = defs.resolve_job_def("events_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == keys
