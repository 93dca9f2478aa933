"""Multipart uploads (a small threshold and 5 MB parts), aborts of failed and killed uploads, and
the record of written objects: a process killed between upload and ledger mark re-runs into a no-op."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from s3_pipelines.ledger import Ledger
from s3_pipelines.sinks.s3 import CreateOnlyWriter, DestinationSpec, get_format, write_load
from s3_pipelines.sinks.s3.written import inputs_done, record_load, transaction, written_objects

from .helpers import T0
from .killed_writer import PART, big_load

SPEC = DestinationSpec("archive", "exports/events/", "json", "1m")


def _uploads(client, prefix="") -> list[dict]:
    return client.boto.list_multipart_uploads(Bucket=client.bucket, Prefix=prefix).get("Uploads", [])


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.boto.list_objects_v2(Bucket=client.bucket).get("Contents", []))


def test_multipart_upload_of_a_big_window(dest_client):
    writer = CreateOnlyWriter(dest_client, multipart_threshold=PART, part_size=PART, max_parts_in_memory=2)
    result = write_load(big_load(), SPEC, writer)
    [obj] = result.objects
    assert obj.bytes > 2 * PART and writer.requests["upload_part"] == 3 and "put_object" not in writer.requests
    data = dest_client.boto.get_object(Bucket=dest_client.bucket, Key=obj.key)["Body"].read()
    assert len(data) == obj.bytes and get_format("json").decode(data) == [
        r for inp in big_load() for r in get_format("json").decode(
            b"".join(t.encode() + b"\n" for b in inp.batches() for t in b.column("_s3_record").to_pylist()))]
    assert _uploads(dest_client) == []
    again = write_load(big_load(), SPEC, writer)
    assert [o.created for o in again.objects] == [False] and writer.requests["upload_part"] == 3


class _FailsOnSecondPart(CreateOnlyWriter):
    def _call(self, op, **kw):
        if op == "upload_part" and kw["PartNumber"] == 2:
            raise ConnectionResetError("connection reset by peer (injected)")
        return super()._call(op, **kw)


def test_a_failed_multipart_upload_is_aborted_by_the_run(dest_client):
    writer = _FailsOnSecondPart(dest_client, multipart_threshold=PART, part_size=PART, max_parts_in_memory=1)
    with pytest.raises(ConnectionResetError):
        write_load(big_load(), SPEC, writer)
    assert writer.requests["abort_multipart_upload"] == 1
    assert _uploads(dest_client) == [] and _keys(dest_client) == []


def _child(s3_server, client, mode: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "s3_pipelines_tests.sinks_tests.killed_writer", mode, s3_server.endpoint_url,
         s3_server.access_key, s3_server.secret_key, client.bucket, str(tmp_path / "ledger.db")],
        capture_output=True, text=True, timeout=120)


def test_the_next_run_aborts_an_upload_a_killed_process_left(s3_server, dest_client, tmp_path):
    proc = _child(s3_server, dest_client, "mid-upload", tmp_path)
    assert proc.returncode == -9, proc.stderr
    [left] = _uploads(dest_client, "exports/")
    assert _keys(dest_client) == []
    dest_client.boto.create_multipart_upload(Bucket=dest_client.bucket, Key="elsewhere/x")  # not ours
    writer = CreateOnlyWriter(dest_client)
    if s3_server.name == "rclone":  # moto dates every upload 2010-11-10, rclone tells the truth
        assert writer.abort_stale_uploads("exports/", older_than=dt.timedelta(hours=1)) == []
    assert writer.abort_stale_uploads("exports/", older_than=dt.timedelta(0)) == [left["Key"]]
    assert _uploads(dest_client, "exports/") == []
    assert [u["Key"] for u in _uploads(dest_client)] == ["elsewhere/x"]


def test_killed_between_upload_and_ledger_mark_reruns_into_no_second_object(s3_server, dest_client, tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")  # the destination record lives in the load ledger's file
    proc = _child(s3_server, dest_client, "before-mark", tmp_path)
    assert proc.returncode == 3 and proc.stdout.strip() == "1", proc.stderr
    [key] = _keys(dest_client)
    with transaction(ledger.path) as db:
        assert written_objects(db, "archive") == [] and inputs_done(db, "archive", [big_load()[0].id]) == set()
    result = write_load(big_load(), SPEC, CreateOnlyWriter(dest_client))
    assert [(o.key, o.created) for o in result.objects] == [(key, False)]
    with pytest.raises(RuntimeError, match="crash inside the transaction"):
        with transaction(ledger.path) as db:
            record_load(db, result)
            raise RuntimeError("crash inside the transaction")
    with transaction(ledger.path) as db:
        assert written_objects(db, "archive") == []  # rolled back together
        record_load(db, result)
    with transaction(ledger.path) as db:
        [row] = written_objects(db, "archive")
        assert (row.key, row.rows, row.etag, row.inputs) == (key, 12_000, result.objects[0].etag, (big_load()[0].id,))
        assert row.window_start == T0 and inputs_done(db, "archive", [big_load()[0].id, "x"]) == {big_load()[0].id}
        record_load(db, result)  # recording twice changes nothing
    assert _keys(dest_client) == [key]
    assert ledger.rows("any-stream") == []  # the load ledger's own tables are untouched and still work
