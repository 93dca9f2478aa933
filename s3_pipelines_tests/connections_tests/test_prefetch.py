"""The read-ahead thread of `S3Client.open_stream`: the download overlaps processing, and errors
of the reading thread (truncation, a wrong MD5) reach the consumer unchanged; closing early stops it."""

from __future__ import annotations

import os
import threading

import pytest

from s3_pipelines.connections.s3 import PREFETCH_PIECE, S3Client
from s3_pipelines.objects import ObjectError

from .fault_proxy import Fault, FaultProxy
from .test_s3_client import put_and_list, via


@pytest.fixture
def proxy(moto_server):
    with FaultProxy(moto_server.endpoint_url) as p:
        yield p


def _prefetchers() -> int:
    return sum(t.name == "s3-prefetch" and t.is_alive() for t in threading.enumerate())


def test_prefetched_stream_returns_the_bytes_in_order(moto_server, new_bucket):
    client = S3Client.from_config(new_bucket(moto_server))
    data = os.urandom(5 * PREFETCH_PIECE + 123)
    obj = put_and_list(client, "big.bin", data)
    stream = client.open_stream(obj, prefetch_bytes=2 * PREFETCH_PIECE)
    parts = []
    while True:
        chunk = stream.read(300_000)
        if not chunk:
            break
        parts.append(chunk)
    assert b"".join(parts) == data
    stream.close()


@pytest.mark.parametrize("fault, message", [(Fault(truncate_to=0), "truncated"), (Fault(corrupt=True), "MD5")])
def test_errors_of_the_reading_thread_reach_the_consumer(moto_server, new_bucket, proxy, fault, message):
    client = S3Client.from_config(via(new_bucket(moto_server), proxy))
    obj = put_and_list(client, "big.bin", os.urandom(3 * PREFETCH_PIECE))
    proxy.fault = lambda seen: fault if seen.method == "GET" and "list-type" not in seen.path else None
    with pytest.raises(ObjectError, match=message):
        client.open_stream(obj, prefetch_bytes=2 * PREFETCH_PIECE).read()


def test_closing_early_stops_the_reading_thread(moto_server, new_bucket):
    client = S3Client.from_config(new_bucket(moto_server))
    obj = put_and_list(client, "big.bin", os.urandom(8 * PREFETCH_PIECE))
    before = _prefetchers()
    stream = client.open_stream(obj, prefetch_bytes=PREFETCH_PIECE)
    assert stream.read(10) and _prefetchers() == before + 1
    stream.close()
    assert _prefetchers() == before
