"""`destinations:` and `syncs:` (issue 11): SPEC §1's sections validate as written there, with the
connection they name added; wrong references are reported with their YAML path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from s3_pipelines.check import load_checked
from s3_pipelines.config import ConfigError

SPEC = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"


def spec_example() -> dict:
    text = SPEC.read_text() if SPEC.exists() else pytest.skip("../shared/SPEC.md is not beside the repo")
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "pipelines.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def sections(example: dict, **extra) -> dict:
    data = {k: example[k] for k in ("connections", "streams", "destinations", "syncs")}
    data["connections"]["archive_conn"] = {"type": "s3", "bucket": "acme-archive", "region": "us-east-1"}
    data.update(extra)
    return data


def test_spec_destinations_and_syncs_validate_as_written(tmp_path):
    cfg = load_checked(write(tmp_path, sections(spec_example())))
    archive = cfg.destinations["archive"]
    assert (archive.format, archive.batch_window, archive.from_.stream) == ("ndjson.gz", "1m", "slack_channels")
    assert archive.key_template.endswith("-{id}.gz")
    bulk, model = cfg.syncs["nightly_copy"], cfg.syncs["accounts_model"]
    assert (bulk.kind, bulk.mode, bulk.primary_key) == ("bulk", "replicate", {"slack_channels": ["id"]})
    assert (model.kind, model.source.model_from, model.target.format) == ("model", "single_file", "csv")


def test_without_the_named_connection_the_sync_says_so(tmp_path):
    data = sections(spec_example())
    del data["connections"]["archive_conn"]
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, data))
    assert "syncs.nightly_copy.destination: no connection named 'archive_conn'" in e.value.render()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["destinations"]["archive"].update({"from": {"stream": "nope"}}),
     "destinations.archive.from.stream: no stream named 'nope'"),
    (lambda d: d["destinations"]["archive"].update({"from": {"table": "t", "stream": "slack_channels"}}),
     "give exactly one of stream, mapping, table"),
    (lambda d: d["destinations"]["archive"].update({"key_template": "{prefix}{YYYYY}"}), "unknown placeholder {YYYYY}"),
    (lambda d: d["destinations"]["archive"].update({"batch_window": "1 minute"}), "destinations.archive.batch_window"),
    (lambda d: d["destinations"]["archive"].update({"format": "avro"}), "destinations.archive.format"),
    (lambda d: d["syncs"]["nightly_copy"].update({"streams": ["other"]}), "'other' is not a stream of connection 'lake'"),
    (lambda d: d["syncs"]["nightly_copy"].update({"primary_key": {}}), "mode replicate needs key columns"),
    (lambda d: d["syncs"]["nightly_copy"].update({"schedule": "nightly"}), "not a cron string"),
    (lambda d: d["syncs"]["accounts_model"].update({"target": {"catalog": "lake", "table": "accounts"}}),
     "syncs.accounts_model.target.catalog: no duckdb or postgres connection named 'lake'"),
    (lambda d: d["syncs"]["accounts_model"].update({"mode": "update"}), "mode update needs primary_key"),
])
def test_problems_name_their_place(tmp_path, change, message):
    data = sections(spec_example())
    change(data)
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, data))
    assert message in e.value.render()
