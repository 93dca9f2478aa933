import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from s3_pipelines.check import load_checked as load_config
from s3_pipelines.check import json_schema
from s3_pipelines.config import ConfigError

GOOD = """
connections:
  lake:
    type: s3
    bucket: acme-data
    prefix: data
    endpoint_url: http://127.0.0.1:9000
    auth:
      mode: access_key_and_secret
      aws_access_key_id: {env: TEST_KEY_ID}
      aws_secret_access_key: {env: TEST_SECRET}
  catalog: {type: duckdb, path: state/catalog.duckdb}
streams:
  slack_channels:
    connection: lake
    select: {prefixes: ["wSLvwtI1LFwQzXXX/channels/"]}
    format: jsonl
    envelope: airbyte
    schema: [{name: id, type: string}, {name: num_members, type: long}]
"""


def write(tmp_path: Path, text: str, name="pipelines.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "s3_pipelines.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={"TEST_KEY_ID": "k", "TEST_SECRET": "s", **os.environ, **(env or {})},
                          timeout=60)  # the variables GOOD names: `validate` checks they are set


def test_good_file_loads_and_resolves_paths(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.connections["lake"].prefix == "data/"
    assert cfg.streams["slack_channels"].schema_[1].type == "long"
    # state lives beside the catalog, relative to the config file, not the cwd
    assert cfg.ledger_path() == tmp_path / "state" / "ledger.sqlite"


def test_validate_cli_exit_codes_and_messages(tmp_path):
    good = write(tmp_path, GOOD)
    r = cli("validate", "--config", str(good))
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout
    bad = write(tmp_path, GOOD.replace('select: {prefixes: ["wSLvwtI1LFwQzXXX/channels/"]}',
                                       'select: {prefixes: [a/], pattern: "*.json"}')
                .replace("format: jsonl", "format: xml").replace("connection: lake", "connection: nope"), "bad.yaml")
    r = cli("validate", "--config", str(bad))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert str(bad) in r.stderr
    # all problems at once, each with its YAML path
    assert "streams.slack_channels.select: give exactly one of uris, prefixes, objects, pattern" in r.stderr
    assert "streams.slack_channels.format:" in r.stderr
    assert "streams.slack_channels.connection: no connection named 'nope'" in r.stderr


def test_config_path_from_env_then_cwd(tmp_path):
    write(tmp_path, GOOD)
    assert cli("validate", cwd=tmp_path).returncode == 0
    other = tmp_path / "sub"
    other.mkdir()
    r = cli("validate", cwd=other, env={"S3_PIPELINES_CONFIG": str(tmp_path / "pipelines.yaml")})
    assert r.returncode == 0, r.stderr
    r = cli("validate", cwd=other, env={"S3_PIPELINES_CONFIG": ""})
    assert r.returncode != 0 and "no such file" in r.stderr


def test_uri_of_another_bucket_is_a_config_error(tmp_path):
    text = GOOD.replace('select: {prefixes: ["wSLvwtI1LFwQzXXX/channels/"]}',
                        'select: {uris: ["s3://other-bucket/data/x.json", "s3://acme-data/elsewhere/y.json"]}')
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    msg = e.value.render()
    assert "is in bucket 'other-bucket'" in msg
    assert "outside the connection prefix 'data/'" in msg


def test_secrets_must_be_env_references_and_are_never_printed(tmp_path, monkeypatch):
    text = GOOD.replace("aws_secret_access_key: {env: TEST_SECRET}", "aws_secret_access_key: hunter2-very-secret")
    r = cli("validate", "--config", str(write(tmp_path, text)))
    assert r.returncode != 0
    assert "use {env: VARIABLE_NAME}" in r.stderr
    assert "hunter2" not in r.stderr + r.stdout
    monkeypatch.setenv("TEST_SECRET", "s3cr3t-value-123")
    cfg = load_config(write(tmp_path, GOOD))
    ref = cfg.connections["lake"].auth.aws_secret_access_key
    assert ref.resolve() == "s3cr3t-value-123"
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(ref)):
        assert "s3cr3t-value-123" not in text


def test_literal_secret_value_form_is_refused_in_files(tmp_path):
    text = GOOD.replace("{env: TEST_SECRET}", "{value: abc123}")
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    assert "connections.lake.auth.aws_secret_access_key" in e.value.render()
    assert "abc123" not in e.value.render()


def test_postgres_url_with_password_must_be_env(tmp_path):
    text = GOOD.replace(
        "catalog: {type: duckdb, path: state/catalog.duckdb}",
        "pg: {type: postgres, url: 'postgresql://bob:pw@127.0.0.1/test'}")
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    assert "connections.pg.url" in e.value.render() and "pw@" not in e.value.render()


def test_schema_command_prints_json_schema():
    r = cli("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema == json.loads(json.dumps(json_schema()))
    stream = schema["$defs"]["StreamConfig"]["properties"]
    assert {"select", "format", "compression", "envelope", "schema", "on_error", "max_errors"} <= set(stream)
    assert "source_path" not in schema["properties"]


def test_invalid_yaml_reports_line(tmp_path):
    r = cli("validate", "--config", str(write(tmp_path, "connections:\n  lake: [unclosed\n")))
    assert r.returncode != 0 and "not valid YAML" in r.stderr and "line" in r.stderr


def test_root_dagster_yaml_matches_packaged_copy():
    root = Path(__file__).resolve().parents[2]
    assert (root / "dagster.yaml").read_text() == (root / "s3_pipelines" / "dagster.yaml").read_text()
