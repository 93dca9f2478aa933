import dagster as dg

from s3_pipelines.dagster_defs import build_definitions


def test_definitions_from_config(pipeline):
    defs = build_definitions(pipeline.load())
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"users/objects", "users/records", "orders/objects", "orders/records"}
    records = graph.get(dg.AssetKey(["users", "records"]))
    assert records.group_name == "users"
    assert {"s3", "parquet"} <= set(records.kinds)
    assert "Slack users from Airbyte" in records.description
    assert dg.AssetKey(["users", "objects"]) in records.parent_keys
    assert isinstance(records.partitions_def, dg.TimeWindowPartitionsDefinition)
    checks = {c.to_user_string() for c in graph.asset_check_keys}
    assert "users/records:parse_errors" in checks
    assert {s.name for s in defs.sensors} == {"users_sensor", "orders_sensor", "partition_run_succeeded",
                                              "partition_run_failed"}
    assert defs.resolve_job_def("users_job") is not None
    # secrets are EnvVars: the resource config names the variable, never the value
    res = defs.resources["lake"]
    secret = res.secrets["auth.aws_secret_access_key"]
    assert isinstance(secret, dg.EnvVar)
    assert secret.env_var_name == "S3P_TEST_SECRET"
    assert pipeline.server.secret_key not in repr(res)
    # the resource is the connection's config: every field of it, validated again by the same model
    conn = pipeline.load().connections["lake"]
    assert res.connection_config().model_dump(exclude={"auth"}) == conn.model_dump(exclude={"auth"})
    assert res.connection_config().auth.mode == conn.auth.mode


def test_definitions_module_loads_from_env(pipeline, monkeypatch):
    import importlib

    monkeypatch.setenv("S3_PIPELINES_CONFIG", str(pipeline.config))
    import s3_pipelines.definitions as mod

    mod = importlib.reload(mod)
    assert {s.name for s in mod.defs.sensors} == {"users_sensor", "orders_sensor", "partition_run_succeeded",
                                                  "partition_run_failed"}
