"""S3Client against real local servers (moto, rclone serve s3), with a fault-injecting proxy."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_pipelines.config.models import S3ConnectionConfig
from s3_pipelines.connections import S3AccessError, S3Client
from s3_pipelines.local_s3 import MotoServer
from s3_pipelines.objects import ObjectChangedError, ObjectError

from .fault_proxy import Fault, FaultProxy

ROLE_ARN = "arn:aws:iam::123456789012:role/ingest"
SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
INTERNAL = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"


@pytest.fixture
def proxy(moto_server):
    with FaultProxy(moto_server.endpoint_url) as p:
        yield p


def via(conn, proxy, **kw):
    """The same connection, reached through the proxy."""
    return conn.model_copy(update={"endpoint_url": proxy.endpoint_url, **kw})


def with_auth(conn, auth: dict):
    """The same connection with another (validated) auth block."""
    return S3ConnectionConfig.model_validate({**conn.model_dump(exclude={"auth"}), "auth": auth})


def test_roundtrip_with_keys(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    data = b"hello world\n" * 1000
    etag = client.put_bytes("a/one.txt", data)
    assert etag == hashlib.md5(data).hexdigest()
    (obj,), token = client.list_page("a/")
    assert token is None and client.list_requests == 1
    assert (obj.key, obj.etag, obj.size) == ("a/one.txt", etag, len(data))  # unquoted on both servers
    assert obj.last_modified.tzinfo is not None
    assert client.head("a/one.txt").etag == etag
    assert client.head("a/missing.txt") is None
    assert client.open_stream(obj).read() == data
    client.delete("a/one.txt")
    assert client.list_page("a/") == ([], None)


def test_list_page_paginates(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    for i in range(5):
        client.put_bytes(f"p/{i}.txt", b"x")
    first, token = client.list_page("p/", max_keys=3)
    assert [o.key for o in first] == ["p/0.txt", "p/1.txt", "p/2.txt"] and token
    rest, token = client.list_page("p/", token=token, max_keys=3)
    assert [o.key for o in rest] == ["p/3.txt", "p/4.txt"] and token is None
    after, _ = client.list_page("p/", start_after="p/3.txt")
    assert [o.key for o in after] == ["p/4.txt"]


def test_wrong_secret_names_bucket_and_key_but_not_secret(rclone_server, new_bucket):
    conn = new_bucket(rclone_server)
    wrong = "Wrong-Secret-Value-1234567890"
    conn = with_auth(conn, {
        "mode": "access_key_and_secret",
        "aws_access_key_id": {"value": rclone_server.access_key},
        "aws_secret_access_key": {"value": wrong},
    })
    client = S3Client.from_config(conn)
    with pytest.raises(S3AccessError) as info:
        client.list_page("")
    text = str(info.value)
    key = rclone_server.access_key
    assert info.value.kind == "access_denied"
    assert conn.bucket in text and f"{key[:4]}…{key[-4:]}" in text and "access_key_and_secret" in text
    assert wrong not in text and key not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # botocore text not chained
    assert wrong not in repr(client) and key not in repr(client)


def test_missing_bucket_and_unreachable_endpoint(rclone_server):
    client = S3Client.from_config(rclone_server.connection("no-such-bucket-here"))
    with pytest.raises(S3AccessError, match="bucket no-such-bucket-here does not exist"):
        client.list_page("")
    with pytest.raises(S3AccessError, match="does not exist"):
        client.head("some/key")  # a HEAD 404 alone would look like a missing key
    down = S3Client.from_config(
        rclone_server.connection("acme", max_attempts=1).model_copy(update={"endpoint_url": "http://127.0.0.1:9"})
    )
    with pytest.raises(S3AccessError) as info:
        down.list_page("")
    assert str(info.value) == "cannot reach endpoint http://127.0.0.1:9 (connection refused)"
    assert info.value.kind == "unreachable"


def test_default_mode_uses_the_environment_chain(rclone_server, new_bucket, monkeypatch):
    conn = with_auth(new_bucket(rclone_server), {"mode": "default"})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rclone_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rclone_server.secret_key)
    client = S3Client.from_config(conn)
    client.put_bytes("k", b"v")
    assert [o.key for o in client.list_page("")[0]] == ["k"]

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all")
    with pytest.raises(S3AccessError) as info:
        S3Client.from_config(conn).list_page("")
    assert "mode default" in str(info.value) and "not-the-secret-at-all" not in str(info.value)


def iam_role_conn(conn, proxy, external_id="ext-id-s3cr3t", duration=3600):
    return with_auth(via(conn, proxy), {
        "mode": "iam_role",
        "iam_role_arn": ROLE_ARN,
        "external_id": {"value": external_id},
        "role_session_name": "tests",
        "role_duration_seconds": duration,
        "aws_access_key_id": {"value": "AKIABASEKEY000000001"},
        "aws_secret_access_key": {"value": "base-secret"},
    })


def assume_role_requests(proxy):
    return [s for s in proxy.seen if s.method == "POST" and b"Action=AssumeRole" in s.body]


def test_iam_role_assumes_with_external_id_and_refreshes(moto_server, new_bucket, proxy):
    client = S3Client.from_config(iam_role_conn(new_bucket(moto_server), proxy, duration=900))
    client.put_bytes("k", b"v")
    client.list_page("")
    (call,) = assume_role_requests(proxy)  # one AssumeRole for two S3 requests, even with a 15 min role
    assert b"ExternalId=ext-id-s3cr3t" in call.body and b"RoleSessionName=tests" in call.body
    assert b"DurationSeconds=900" in call.body and b"RoleArn=arn%3Aaws%3Aiam" in call.body
    first_key = client.credentials.access_key
    s3_calls = [s for s in proxy.seen if s not in assume_role_requests(proxy)]
    assert f"Credential={first_key}/" in s3_calls[-1].headers["Authorization"]

    # Pretend the credentials are about to expire: the next request must assume the role again.
    client.credentials._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
    client.list_page("")
    assert len(assume_role_requests(proxy)) == 2 and client.assume_role_calls == 2
    assert client.credentials.access_key != first_key
    assert f"Credential={client.credentials.access_key}/" in proxy.seen[-1].headers["Authorization"]


def test_iam_role_failure_is_reported_without_external_id(moto_server, new_bucket, proxy):
    denied = b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>not authorized</Message></Error></ErrorResponse>"
    proxy.fault = lambda seen: Fault(403, denied) if b"Action=AssumeRole" in seen.body else None
    client = S3Client.from_config(iam_role_conn(new_bucket(moto_server), proxy))
    with pytest.raises(S3AccessError) as info:
        client.list_page("")
    assert str(info.value) == f"STS AssumeRole of {ROLE_ARN} failed: AccessDenied: not authorized"
    assert "ext-id-s3cr3t" not in repr(client)


@pytest.mark.parametrize("error", [(503, SLOW_DOWN), (500, INTERNAL)])
def test_retries_throttling_and_server_errors(moto_server, new_bucket, proxy, error):
    client = S3Client.from_config(via(new_bucket(moto_server), proxy, max_attempts=4))
    client.put_bytes("k", b"v")
    failures = {"left": 2}

    def fail_twice(seen):
        if seen.method == "GET" and "list-type=2" in seen.path and failures["left"]:
            failures["left"] -= 1
            return Fault(*error)

    proxy.fault = fail_twice
    start = len(proxy.seen)
    objects, _ = client.list_page("")
    assert [o.key for o in objects] == ["k"]
    assert len(proxy.seen) - start == 3  # two failures, then success


def test_gives_up_after_max_attempts(moto_server, new_bucket, proxy):
    client = S3Client.from_config(via(new_bucket(moto_server), proxy, max_attempts=2))
    proxy.fault = lambda seen: Fault(503, SLOW_DOWN)
    with pytest.raises(S3AccessError) as info:
        client.list_page("")
    assert info.value.kind == "server" and "SlowDown" in str(info.value)


def put_and_list(client, key, data):
    client.put_bytes(key, data)
    (obj,), _ = client.list_page(key)
    return obj


def test_stream_resumes_after_a_broken_connection(moto_server, new_bucket, proxy):
    client = S3Client.from_config(via(new_bucket(moto_server), proxy))
    data = os.urandom(3 * 2**20)
    obj = put_and_list(client, "big.bin", data)
    broken = {"left": 2}

    def break_twice(seen):
        if seen.method == "GET" and seen.path.startswith(f"/{obj.bucket}/big.bin") and broken["left"]:
            broken["left"] -= 1
            return Fault(truncate_to=2**20 + 17)

    proxy.fault = break_twice
    assert client.open_stream(obj).read() == data
    gets = [s for s in proxy.seen if s.method == "GET" and s.path.startswith(f"/{obj.bucket}/big.bin")]
    assert [s.headers.get("Range") for s in gets] == [None, f"bytes={2**20 + 17}-", f"bytes={2 * (2**20 + 17)}-"]
    assert all(s.headers.get("If-Match") == f'"{obj.etag}"' for s in gets)


@pytest.mark.parametrize(
    "fault, message",
    [
        (Fault(truncate_to=0), "truncated"),  # the connection always breaks: never short data
        (Fault(truncate_to=1000), "truncated"),  # breaks after some progress each time: gives up in the end
        (Fault(short_to=1000), "listed as"),  # a consistent but short Content-Length
        (Fault(corrupt=True), "MD5"),
    ],
)
def test_stream_never_returns_wrong_data(moto_server, new_bucket, proxy, fault, message):
    client = S3Client.from_config(via(new_bucket(moto_server), proxy))
    obj = put_and_list(client, "obj.bin", os.urandom(50_000))
    proxy.fault = lambda seen: fault if seen.method == "GET" and "list-type" not in seen.path else None
    with pytest.raises(ObjectError, match=message):
        client.open_stream(obj).read()


def test_etag_change_between_list_and_get(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    obj = put_and_list(client, "data.json", b'{"a": 1}')
    client.put_bytes("data.json", b'{"a": 2}')  # rclone ignores If-Match: the client compares ETags itself
    with pytest.raises(ObjectChangedError, match="changed since it was listed"):
        client.open_stream(obj)
    with pytest.raises(ObjectChangedError):
        client.open_random_access(obj).read(4)
    client.delete("data.json")
    with pytest.raises(ObjectChangedError, match="deleted since listed"):
        client.open_stream(obj)


def test_random_access_reads_parquet(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    table = pa.table({"n": list(range(50_000)), "s": [f"row {i}" for i in range(50_000)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=10_000)
    obj = put_and_list(client, "t.parquet", sink.getvalue())
    reader = client.open_random_access(obj, read_ahead=64 * 1024)
    assert reader.seek(0, io.SEEK_END) == obj.size and reader.seekable()
    before = client.get_requests
    assert pq.ParquetFile(reader).read().equals(table)
    assert client.get_requests - before >= 2  # footer and data came in separate ranges
    reader.seek(obj.size - 4)
    assert reader.read(10) == b"PAR1" and reader.read(10) == b""


def test_upload_file_multipart(moto_server, new_bucket, tmp_path):
    client = S3Client.from_config(new_bucket(moto_server))
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(65 * 2**20))
    client.upload_file(path, "up/big.bin")
    obj = client.head("up/big.bin")
    assert obj.size == path.stat().st_size and "-" in obj.etag  # multipart ETag
    assert hashlib.md5(client.open_stream(obj).read()).digest() == hashlib.md5(path.read_bytes()).digest()


def test_moto_server_stops_by_pid(tmp_path):
    log = tmp_path / "moto.log"
    with MotoServer(log_path=log) as server:
        assert server.endpoint_url.startswith("http://127.0.0.1:")
        pid = server.pid
        urllib.request.urlopen(server.endpoint_url + "/moto-api/").close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert server.pid is None and log.exists()
