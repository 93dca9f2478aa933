"""A writer process that dies: `python -m s3_pipelines_tests.sinks_tests.killed_writer MODE ENDPOINT
KEY SECRET BUCKET LEDGER`. MODE `mid-upload`: SIGKILL itself after the first part of a multipart upload;
`before-mark`: write the load, then exit before recording it in the ledger."""

from __future__ import annotations

import os
import signal
import sys

from s3_pipelines.config.models import S3ConnectionConfig
from s3_pipelines.connections import S3Client
from s3_pipelines.sinks.s3 import CreateOnlyWriter, DestinationSpec, write_load

from .helpers import T0, event_lines, make_input

PART = 5 * 2**20


class _DiesAfterFirstPart(CreateOnlyWriter):
    def _call(self, op, **kw):
        resp = super()._call(op, **kw)
        if op == "upload_part":
            os.kill(os.getpid(), signal.SIGKILL)
        return resp


def big_load():
    return [make_input(event_lines(12_000, T0, __import__("datetime").timedelta(seconds=30), pad=1000), T0, "big")]


def main() -> None:
    mode, endpoint, key, secret, bucket, _ledger = sys.argv[1:7]
    conn = S3ConnectionConfig(type="s3", bucket=bucket, endpoint_url=endpoint, auth={
        "mode": "access_key_and_secret", "aws_access_key_id": {"value": key}, "aws_secret_access_key": {"value": secret}})
    client = S3Client.from_config(conn)
    spec = DestinationSpec("archive", "exports/events/", "json", "1m")
    if mode == "mid-upload":
        write_load(big_load(), spec, _DiesAfterFirstPart(client, multipart_threshold=PART, part_size=PART,
                                                          max_parts_in_memory=1))
    else:
        result = write_load(big_load()[:1], spec, CreateOnlyWriter(client))
        print(len(result.objects), flush=True)
    os._exit(3)  # killed between the upload and the ledger mark


if __name__ == "__main__":
    main()
