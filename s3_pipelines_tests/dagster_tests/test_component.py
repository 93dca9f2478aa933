"""The pipelines file as a `dg` component: `dg check defs` and `dg list defs` on a project whose
defs folder holds it, and a config path relative to the component's defs.yaml."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from s3_pipelines.dagster_defs.component import S3PipelinesComponent

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")


def test_config_path_is_relative_to_the_defs_yaml(pipeline):
    folder = pipeline.root / "defs" / "pipelines"
    folder.mkdir(parents=True)
    defs = S3PipelinesComponent(config_path="../../pipelines.yaml").build_defs(SimpleNamespace(path=folder))
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"users/objects", "users/records", "orders/objects", "orders/records"}


@pytest.mark.skipif(not DG.exists(), reason="dagster-dg-cli is not installed")
@pytest.mark.parametrize("pipeline", ["moto"], indirect=True)
def test_dg_check_and_list_defs(pipeline):
    env = {**os.environ, **pipeline.env, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}
    check = subprocess.run([str(DG), "check", "defs", "--use-active-venv"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "All definitions loaded successfully" in check.stdout + check.stderr
    listed = subprocess.run([str(DG), "list", "defs"], cwd=REPO, env={**env, "COLUMNS": "300"}, capture_output=True,
                            text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    for name in ("users/records", "orders/objects", "users_sensor", "users_job"):
        assert name in listed.stdout, listed.stdout[-3000:]
