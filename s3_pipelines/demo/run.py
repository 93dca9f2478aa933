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
from ..dagster_defs.run_report import RunReport
from ..dagster_defs.runner import print_summary, run_pending
from ..progress import Progress
from ..tables.summary import print_table_summary
from .sample_data import demo_objects

TEMPLATE = Path(__file__).with_name("pipelines.yaml")
# as the project's workspace.yaml: one code location name however the UI is started
WORKSPACE = ("load_from:\n  - python_module:\n      module_name: s3_pipelines.definitions\n"
             "      location_name: s3_pipelines\n")
DEMO_ENV = {"S3_PIPELINES_DEMO_KEY_ID": "demo-key-id", "S3_PIPELINES_DEMO_SECRET": "demo-secret-not-real"}
MARKER = ".s3_pipelines_demo"  # what the demo writes first into a folder it made: only such a folder is cleared
ENV_FILE = "demo.env"


def claim_workdir(workdir: Path) -> None:
    """Make `workdir` the demo's: a new or empty folder, or one an earlier demo made (cleared). Any
    other folder is refused: the demo never deletes what it did not create."""
    if workdir.exists() and not workdir.is_dir():
        raise ValueError(f"--workdir {workdir} is a file, not a folder")
    if workdir.is_dir() and any(workdir.iterdir()):
        if not (workdir / MARKER).is_file():
            raise ValueError(f"--workdir {workdir} is not empty and was not made by `s3-pipelines demo`: "
                             "give a new or empty folder (nothing was changed)")
        for child in workdir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `s3-pipelines demo`; the next demo in this folder clears it\n")


def prepare(workdir: Path, endpoint_url: str) -> Path:
    """The demo's workdir with its config (and its env file); the bucket filled with sample objects."""
    claim_workdir(workdir)
    config = workdir / "pipelines.yaml"
    config.write_text(TEMPLATE.read_text().replace("{endpoint_url}", endpoint_url))
    # the variables the config names, so the config stays usable after the demo (`set -a; . demo.env`)
    (workdir / ENV_FILE).write_text("".join(f"{k}={v}\n" for k, v in DEMO_ENV.items())
                                    + f"S3_PIPELINES_CONFIG={config}\nDAGSTER_HOME={workdir / 'dagster_home'}\n")
    os.environ.update(DEMO_ENV)
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                      aws_access_key_id=DEMO_ENV["S3_PIPELINES_DEMO_KEY_ID"],
                      aws_secret_access_key=DEMO_ENV["S3_PIPELINES_DEMO_SECRET"])
    s3.create_bucket(Bucket="demo-lake")
    for key, body in demo_objects().items():
        s3.put_object(Bucket="demo-lake", Key=key, Body=body)
    return config


def next_steps(workdir: Path) -> list[str]:
    env = workdir / ENV_FILE
    return [
        "\nnext:",
        f"  set -a; . {env}; set +a        # the demo's variables: its config works from any shell",
        "  s3-pipelines catalog export --blueprint slack_user   # what landed (reads the catalog on disk)",
        f"  s3-pipelines demo --dev --workdir {workdir}   # again, with the Dagster UI on the result",
        "  (run, test-mapping --latest and sensors need the demo's S3 server: it runs only while a demo does)",
    ]


def run_demo(workdir: str = ".s3_pipelines/demo", dev: bool = False, host: str = "127.0.0.1",
             port: int = 3000) -> int:
    workdir_path = Path(workdir).resolve()
    claim_workdir(workdir_path)  # before anything starts: a refused folder changes nothing
    with MotoServer() as server:
        print(f"local S3 server (moto) at {server.endpoint_url}, pid {server.pid}")
        config = prepare(workdir_path, server.endpoint_url)
        os.environ["S3_PIPELINES_CONFIG"] = str(config)
        os.environ["DAGSTER_HOME"] = str(workdir_path / "dagster_home")
        print(f"demo config: {config}")
        cfg = load_config(config)
        report = RunReport()
        with Progress() as progress:  # a bar on a terminal, a line per stream otherwise
            outcomes = run_pending(cfg, log=progress.log, report=report, progress=progress)
        ok = print_summary(outcomes, report=report) and all(o.objects for o in outcomes)
        print_entity_summary(cfg)  # entities per blueprint and the audit failures
        print_table_summary(cfg)
        print(f"\nstaged Parquet under {cfg.resolve(cfg.state.staging.path)}; ledger {cfg.ledger_path()}")
        if dev:
            print(f"starting `dagster dev` on the demo at http://{host}:{port} (Ctrl-C stops it and the S3 server)")
            workspace = workdir_path / "workspace.yaml"  # the code location named as workspace.yaml names it
            workspace.write_text(WORKSPACE)
            try:
                subprocess.run([sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host,
                                "-p", str(port)], cwd=workdir_path, check=False)
            except KeyboardInterrupt:
                pass
    print("\n".join(next_steps(workdir_path)))
    return 0 if ok else 1
