"""dagster.yaml: one file (the root one links to the packaged one), crash recovery by Dagster's
own run monitoring and run retries, one pool slot per DuckDB file, and an S3 compute log manager
ready to switch on for deployments."""

import re
from pathlib import Path

import dagster as dg
import yaml
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

REPO = Path(__file__).resolve().parents[2]
PACKAGED = REPO / "s3_pipelines" / "dagster.yaml"


def test_root_dagster_yaml_is_the_packaged_one():
    assert (REPO / "dagster.yaml").resolve() == PACKAGED.resolve()


def test_instance_settings(tmp_path, monkeypatch):
    (tmp_path / "dagster.yaml").write_text(PACKAGED.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds > 0
        assert instance.run_retries_enabled and instance.run_retries_max_retries >= 1
        pools = instance.get_concurrency_config().pool_config
        assert pools.pool_granularity.value == "run" and pools.default_pool_limit == 1


def test_the_commented_s3_compute_log_manager_is_valid_config():
    text = PACKAGED.read_text()
    block = "\n".join(line[2:] for line in text.splitlines() if re.match(r"^# ( |compute_logs)", line)
                      and ("compute_logs" in line or line.startswith("#   ")))
    doc = yaml.safe_load(block)["compute_logs"]
    assert (doc["module"], doc["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    assert set(doc["config"]) <= set(S3ComputeLogManager.config_type().keys())
    assert "compute_logs" not in yaml.safe_load(text)  # not switched on for local use
