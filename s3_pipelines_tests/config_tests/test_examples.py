from pathlib import Path

import pytest

from s3_pipelines.check import load_checked as load_config
from s3_pipelines.dagster_defs import build_definitions

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "examples").glob("*.yaml")) + [ROOT / "s3_pipelines" / "demo" / "pipelines.yaml"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_examples_validate_and_build_definitions(path):
    cfg = load_config(path)
    assert cfg.streams
    defs = build_definitions(cfg)
    # one listing sensor per stream (plus the run-status sensors that close partitions)
    assert sorted(s.name for s in defs.sensors if s.name.endswith("_sensor")) == sorted(f"{n}_sensor" for n in cfg.streams)
