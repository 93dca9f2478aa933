"""Resources are the config, not copies of it: every connection field reaches the client, the
config's checks apply, secrets stay `EnvVar`s, and the state resource holds its staging
connection instead of looking it up."""

import dagster as dg
import pytest
from pydantic import ValidationError

from s3_pipelines.config.models import S3ConnectionConfig
from s3_pipelines.dagster_defs.resources import PipelineStateResource, S3ConnectionResource

CONN = {
    "type": "s3", "bucket": "acme-data", "prefix": "data/", "region": "eu-west-1",
    "endpoint_url": "http://127.0.0.1:9", "event_queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q",
    "max_attempts": 3, "addressing_style": "path",
    "auth": {"mode": "iam_role", "iam_role_arn": "arn:aws:iam::123456789012:role/ingest",
             "external_id": {"env": "S3P_RES_EXTERNAL"}, "aws_access_key_id": {"env": "S3P_RES_KEY"},
             "aws_secret_access_key": {"env": "S3P_RES_SECRET"}, "role_duration_seconds": 900},
}


def test_every_field_of_the_connection_reaches_the_resource_and_back(monkeypatch):
    conn = S3ConnectionConfig.model_validate(CONN)
    res = S3ConnectionResource.from_connection(conn)
    assert res.settings["event_queue_url"] == CONN["event_queue_url"]  # the field the old copy had lost
    assert set(res.secrets) == {"auth.external_id", "auth.aws_access_key_id", "auth.aws_secret_access_key"}
    assert all(isinstance(v, dg.EnvVar) for v in res.secrets.values())
    assert "S3P_RES" not in repr(res.settings)  # secrets live only in `secrets`, by variable name

    for var, value in (("S3P_RES_EXTERNAL", "ext-1"), ("S3P_RES_KEY", "AKIARESOURCE0001"), ("S3P_RES_SECRET", "s3cr3t")):
        monkeypatch.setenv(var, value)

    @dg.asset
    def probe(lake: S3ConnectionResource) -> dict:
        back = lake.connection_config()
        return {"same": back.model_dump(exclude={"auth"}) == conn.model_dump(exclude={"auth"}),
                "mode": back.auth.mode, "secret": back.auth.aws_secret_access_key.resolve(),
                "external": back.auth.external_id.resolve(), "duration": back.auth.role_duration_seconds}

    out = dg.materialize([probe], resources={"lake": res}).output_for_node("probe")
    assert out == {"same": True, "mode": "iam_role", "secret": "s3cr3t", "external": "ext-1", "duration": 900}


def test_the_config_checks_apply_to_the_resource():
    bad = S3ConnectionResource(settings={**CONN, "auth": {"mode": "password"}})
    with pytest.raises(ValidationError, match="auth.mode"):
        bad.connection_config()


def test_state_resource_holds_its_staging_connection(tmp_path):
    lake = S3ConnectionResource.from_connection(S3ConnectionConfig.model_validate({"type": "s3", "bucket": "acme-data"}))
    state = PipelineStateResource(ledger_path=str(tmp_path / "ledger.sqlite"), staging_s3=lake, staging_prefix="_st/")
    assert state.staging_s3.settings["bucket"] == "acme-data"
    local = PipelineStateResource(ledger_path=str(tmp_path / "ledger.sqlite"), staging_path=str(tmp_path / "st"))
    assert local.staging_s3 is None
