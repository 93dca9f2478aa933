"""Ingestion through a fault-injecting HTTP proxy (connections_tests/fault_proxy.py) in front of
the local S3 server: about 10% of requests get a 503 SlowDown, a 500, a connection reset or a body
cut short. The stream job must still load every object completely; a body that stays wrong
(short with a matching Content-Length, a flipped byte, cut on every attempt) is caught by the
Content-Length / MD5-ETag checks, fails only its object, and is never staged in part."""

from __future__ import annotations

import gzip
import itertools
import json
import threading
from collections import Counter
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest

from s3_pipelines_tests.connections_tests.fault_proxy import Fault, FaultProxy

from .conftest import Lake, parse_check
from .corpus import parquet_bytes

SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
INTERNAL = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
KINDS = ("slowdown", "internal", "reset", "truncate")


def _object_get(seen, bucket: str) -> str | None:
    """The key of a GET of an object's body (not a listing), else None."""
    parts = urlsplit(seen.path)
    prefix = f"/{bucket}/"
    if seen.method != "GET" or not parts.path.startswith(prefix) or "list-type" in parts.query:
        return None
    return unquote(parts.path[len(prefix):]) or None


def _fault(kind: str) -> Fault:
    return {"slowdown": Fault(status=503, body=SLOW_DOWN), "internal": Fault(status=500, body=INTERNAL),
            "reset": Fault(reset=True), "truncate": Fault(truncate_to=700)}[kind]


@pytest.fixture
def proxied(tmp_path, moto_server, new_bucket, monkeypatch):
    from .conftest import KEY_ENV, SECRET_ENV

    conn = new_bucket(moto_server)
    monkeypatch.setenv(KEY_ENV, moto_server.access_key)
    monkeypatch.setenv(SECRET_ENV, moto_server.secret_key)
    with FaultProxy(moto_server.endpoint_url) as proxy:
        yield Lake(tmp_path, moto_server, conn.bucket, endpoint_url=proxy.endpoint_url), proxy


def _jsonl(i: int, n: int = 300) -> bytes:
    return b"".join(json.dumps({"id": f"o{i}-{j}", "obj": i, "pad": "p" * 40}).encode() + b"\n" for j in range(n))


def test_ten_percent_faults_and_every_object_loads_whole(proxied):
    lake, proxy = proxied
    lake.configure({"s": {"select": {"prefixes": ["in/"]}, "format": "auto"}})
    expected: dict[str, int] = {}
    for i in range(40):
        body = _jsonl(i)
        key = f"in/o{i:02d}.jsonl" + (".gz" if i % 3 == 0 else "")
        lake.put(key, gzip.compress(body) if i % 3 == 0 else body)
        expected[key] = 300
    for i in range(2):  # Parquet: read by ranged GETs
        key = f"in/t{i}.parquet"
        lake.put(key, parquet_bytes(pa.table({"id": [f"t{i}-{j}" for j in range(5000)], "obj": [100 + i] * 5000})))
        expected[key] = 5000

    counter, lock, injected = itertools.count(), threading.Lock(), Counter()
    on_bodies = itertools.cycle(["truncate", "reset", "slowdown", "internal"])
    on_others = itertools.cycle(["slowdown", "internal", "reset"])  # listings are not cut short

    def fault(seen):
        with lock:
            if next(counter) % 10 != 7:  # one request in ten
                return None
            kind = next(on_bodies if _object_get(seen, lake.bucket) else on_others)
            injected[kind] += 1
        return _fault(kind)

    proxy.fault = fault
    result = lake.run("s")
    assert result.success
    assert set(injected) == set(KINDS), injected  # every kind of fault happened
    assert sum(injected.values()) >= len(proxy.seen) // 10 - 1

    rows = {r.obj.key: r for r in lake.ledger.rows("s")}
    assert set(rows) == set(expected)
    assert {k: (r.status, r.rows, r.bad_rows) for k, r in rows.items()} == {k: ("loaded", n, 0) for k, n in expected.items()}
    staged = lake.staged("s")
    ids = Counter(staged.column("id").to_pylist())
    assert len(ids) == sum(expected.values()) and max(ids.values()) == 1  # every record once, none partial
    assert parse_check(result, "s")[0]


@pytest.mark.parametrize("kind, error", [
    ("short", "response size is"),  # fewer bytes, with a Content-Length that agrees
    ("corrupt", "MD5 of the bytes read is"),  # right length, one byte flipped
    ("cut_always", "truncated"),  # the connection drops mid-body on every attempt and resume
])
def test_a_body_that_stays_wrong_fails_its_object_and_is_never_loaded_in_part(proxied, kind, error):
    lake, proxy = proxied
    lake.configure({"s": {"select": {"prefixes": ["in/"]}, "format": "jsonl"}})
    lake.put("in/good.jsonl", _jsonl(1))
    body = _jsonl(2, 2000)
    lake.put("in/victim.jsonl", body)
    faults = {"short": Fault(short_to=len(body) // 2), "corrupt": Fault(corrupt=True),
              "cut_always": Fault(truncate_to=100)}  # 100 bytes a time: more resumes than allowed
    proxy.fault = lambda seen: faults[kind] if _object_get(seen, lake.bucket) == "in/victim.jsonl" else None

    result = lake.run("s")
    assert not result.success  # the unreadable object fails the partition's run (issue 14)
    assert lake.row("s", "in/good.jsonl").rows == 300
    victim = lake.row("s", "in/victim.jsonl")
    assert victim.status == "failed" and not victim.staged and victim.rows == 0
    assert victim.error.startswith("in/victim.jsonl") and error in victim.error, victim.error
    assert lake.staged("s", "in/victim.jsonl").num_rows == 0
    passed, md = parse_check(result, "s")
    assert not passed and md["failed_objects"] == 1

    # the network heals: a hand-launched run retries the failed object and loads all of it
    proxy.fault = lambda seen: None
    assert lake.run("s").success
    victim = lake.row("s", "in/victim.jsonl")
    assert (victim.status, victim.rows, victim.error) == ("loaded", 2000, None)
    assert lake.staged("s", "in/victim.jsonl").num_rows == 2000
