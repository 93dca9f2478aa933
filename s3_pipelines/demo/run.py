"""Start a local S3 server (moto, 127.0.0.1, a free port), upload the sample data, write the demo
pipelines file, load everything through Dagster, print what landed, stop the server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from ..config import load_config
from ..local_s3 import MotoServer
from ..catalog.summary import print_entity_summary
from ..dagster_defs.runner import print_summary, run_pending
from ..tables.summary import print_table_summary
from .sample_data import demo_objects

TEMPLATE = Path(__file__).with_name("pipelines.yaml")
DEMO_ENV = {"S3_PIPELINES_DEMO_KEY_ID": "demo-key-id", "S3_PIPELINES_DEMO_SECRET": "demo-secret-not-real"}


def prepare(workdir: Path, endpoint_url: str) -> Path:
    """Fresh workdir with the demo config; the bucket filled with sample objects."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    config = workdir / "pipelines.yaml"
    config.write_text(TEMPLATE.read_text().replace("{endpoint_url}", endpoint_url))
    os.environ.update(DEMO_ENV)
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                      aws_access_key_id=DEMO_ENV["S3_PIPELINES_DEMO_KEY_ID"],
                      aws_secret_access_key=DEMO_ENV["S3_PIPELINES_DEMO_SECRET"])
    s3.create_bucket(Bucket="demo-lake")
    for key, body in demo_objects().items():
        s3.put_object(Bucket="demo-lake", Key=key, Body=body)
    return config


def run_demo(workdir: str = ".s3_pipelines/demo", dev: bool = False) -> int:
    workdir_path = Path(workdir).resolve()
    with MotoServer() as server:
        print(f"local S3 server (moto) at {server.endpoint_url}, pid {server.pid}")
        config = prepare(workdir_path, server.endpoint_url)
        os.environ["S3_PIPELINES_CONFIG"] = str(config)
        os.environ["DAGSTER_HOME"] = str(workdir_path / "dagster_home")
        print(f"demo config: {config}")
        cfg = load_config(config)
        outcomes = run_pending(cfg)
        ok = print_summary(outcomes) and all(o.objects for o in outcomes)
        print_entity_summary(cfg)  # entities per blueprint and the audit failures
        print_table_summary(cfg)
        print(f"\nstaged Parquet under {cfg.resolve(cfg.state.staging.path)}; ledger {cfg.ledger_path()}")
        if dev:
            print("starting `dagster dev` on the demo (Ctrl-C stops it and the S3 server)")
            try:
                subprocess.run([sys.executable, "-m", "dagster", "dev", "-m", "s3_pipelines.definitions"],
                               cwd=workdir_path, check=False)
            except KeyboardInterrupt:
                pass
    return 0 if ok else 1
