from __future__ import annotations

import pytest

from s3_pipelines.connections import S3Client


@pytest.fixture
def dest_client(s3_server, new_bucket) -> S3Client:
    """A client of a fresh bucket, once on the moto server and once on `rclone serve s3`."""
    return S3Client.from_config(new_bucket(s3_server))
