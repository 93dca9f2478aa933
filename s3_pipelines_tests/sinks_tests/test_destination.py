"""Loads into a destination against real S3 servers (moto and `rclone serve s3`): the key layout,
byte-identical re-runs, create-only writes, empty windows and how many objects a load makes."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from s3_pipelines.sinks.s3 import CreateOnlyWriter, DestinationSpec, Input, ObjectExistsError, get_format, write_load

from .helpers import T0, TRICKY_LINES, event_lines, make_input

KEY = re.compile(r"^exports/events/(\d{4})/(\d{2})/(\d{2})/(\d{2})/\1-\2-\3-\4-(\d{2})-(\d{2})-([0-9a-f]{32})\.gz$")


def _keys(client, prefix="exports/") -> list[str]:
    return sorted(o["Key"] for o in client.boto.list_objects_v2(Bucket=client.bucket, Prefix=prefix).get("Contents", []))


def _get(client, key) -> bytes:
    return client.boto.get_object(Bucket=client.bucket, Key=key)["Body"].read()


SPEC = DestinationSpec("archive", "exports/events/", "ndjson.gz", "1m")


def test_key_layout_is_pipedreams_with_the_window_start_from_arrival(dest_client):
    inputs = [make_input(TRICKY_LINES[:3], T0 + dt.timedelta(seconds=42), "a"),
              make_input(TRICKY_LINES[3:], T0 + dt.timedelta(minutes=61, seconds=5), "b")]
    result = write_load(inputs, SPEC, CreateOnlyWriter(dest_client))
    keys = _keys(dest_client)
    assert keys == sorted(o.key for o in result.objects) and len(keys) == 2
    for key, (hour, minute) in zip(keys, [("14", "07"), ("15", "08")]):
        m = KEY.match(key)
        assert m and m.groups()[:6] == ("2024", "03", "05", hour, minute, "00"), key
    for obj in result.objects:
        assert obj.key.endswith(obj.sha256[:32] + ".gz") and obj.created
    assert [o.rows for o in result.objects] == [3, 3]
    assert get_format("ndjson.gz").decode(_get(dest_client, keys[0])) == get_format("json").decode(
        ("\n".join(TRICKY_LINES[:3]) + "\n").encode())


def test_rerun_writes_the_same_bytes_to_the_same_key_once(dest_client):
    lines = event_lines(500, T0, dt.timedelta(minutes=3))
    spec = DestinationSpec("archive", "exports/events/", "ndjson.gz", "1m", time_field="ts")
    writer = CreateOnlyWriter(dest_client)
    first = write_load([make_input(lines[:250], T0, "a"), make_input(lines[250:], T0, "b")], spec, writer)
    before = {k: _get(dest_client, k) for k in _keys(dest_client)}
    puts = writer.requests.get("put_object", 0)
    # the retry lists its inputs in another order and its reader batches differently: same objects
    again = write_load([make_input(lines[250:], T0, "b"), make_input(lines[:250], T0, "a")], spec, writer)
    assert [o.key for o in again.objects] == [o.key for o in first.objects] and len(first.objects) == 3
    assert all(o.created for o in first.objects) and not any(o.created for o in again.objects)
    assert writer.requests.get("put_object", 0) == puts  # nothing uploaded the second time
    assert {k: _get(dest_client, k) for k in _keys(dest_client)} == before
    assert [o.etag for o in again.objects] == [o.etag for o in first.objects]


@pytest.mark.parametrize("same_size", [True, False])
def test_an_existing_key_with_other_content_is_an_error_and_stays(dest_client, same_size):
    spec = DestinationSpec("archive", "exports/events/", "json", "1m",
                           key_template="{prefix}{YYYY}-{MM}-{DD}-{HH}-{mm}{ext}")  # no {id}: keys can collide
    inp = make_input(TRICKY_LINES, T0, "a")
    data = b"".join(line.encode() + b"\n" for line in TRICKY_LINES)
    key = "exports/events/2024-03-05-14-07.jsonl"
    other = bytes(reversed(data)) if same_size else b'{"someone":"else"}\n'
    dest_client.boto.put_object(Bucket=dest_client.bucket, Key=key, Body=other)
    with pytest.raises(ObjectExistsError, match=re.escape(f"/{key} already exists with different content")):
        write_load([inp], spec, CreateOnlyWriter(dest_client))
    assert _get(dest_client, key) == other
    assert _keys(dest_client) == [key]


def test_an_existing_key_with_the_same_content_written_by_others_is_a_no_op(dest_client):
    spec = DestinationSpec("archive", "exports/events/", "json", "1m", key_template="{prefix}{YYYY}{MM}{DD}{HH}{mm}{ext}")
    data = b"".join(line.encode() + b"\n" for line in TRICKY_LINES)
    dest_client.boto.put_object(Bucket=dest_client.bucket, Key="exports/events/202403051407.jsonl", Body=data)
    result = write_load([make_input(TRICKY_LINES, T0, "a")], spec, CreateOnlyWriter(dest_client))
    assert [o.created for o in result.objects] == [False]


class _LateHead(CreateOnlyWriter):
    """A writer whose HEAD ran before another writer created the key (the race HEAD leaves open)."""

    def _same(self, key, content):
        if not getattr(self, "raced", False):
            self.raced = True
            return None
        return super()._same(key, content)


def test_if_none_match_closes_the_race_where_the_store_honours_it(moto_server, new_bucket):
    from s3_pipelines.connections import S3Client

    client = S3Client.from_config(new_bucket(moto_server))
    spec = DestinationSpec("archive", "exports/", "json", "1m", key_template="{prefix}{mm}{ext}")
    client.boto.put_object(Bucket=client.bucket, Key="exports/07.jsonl", Body=b'{"x":"other content"}\n')
    with pytest.raises(ObjectExistsError):
        write_load([make_input(TRICKY_LINES, T0, "a")], spec, _LateHead(client))
    assert _get(client, "exports/07.jsonl") == b'{"x":"other content"}\n'


def test_rclone_ignores_if_none_match_which_is_why_writes_head_first(rclone_server, new_bucket):
    from s3_pipelines.connections import S3Client

    client = S3Client.from_config(new_bucket(rclone_server))
    client.boto.put_object(Bucket=client.bucket, Key="k", Body=b"first")
    client.boto.put_object(Bucket=client.bucket, Key="k", Body=b"second", IfNoneMatch="*")  # no 412
    assert _get(client, "k") == b"second"


def test_windows_without_records_write_nothing(dest_client):
    empty = Input("bucket/src/empty.jsonl@e", T0, lambda: iter([]))
    result = write_load([empty], SPEC, CreateOnlyWriter(dest_client))
    assert result.objects == [] and result.inputs == ["bucket/src/empty.jsonl@e"]
    spec = DestinationSpec("archive", "exports/events/", "csv", "1m", time_field="ts")
    lines = [line for line in event_lines(60, T0, dt.timedelta(minutes=5)) if not (':08:' in line or ':09:' in line)]
    result = write_load([make_input(lines, T0, "gappy")], spec, CreateOnlyWriter(dest_client))
    assert [o.window_start.minute for o in result.objects] == [7, 10, 11]  # minutes 8 and 9 had no records
    assert sum(o.rows for o in result.objects) == len(lines)


@pytest.mark.parametrize("mode", ["record time", "arrival"])
def test_objects_per_10000_records_over_10_minutes_with_a_1m_window(moto_server, new_bucket, mode):
    from s3_pipelines.connections import S3Client

    client = S3Client.from_config(new_bucket(moto_server))
    lines = event_lines(10_000, T0, dt.timedelta(minutes=10))
    if mode == "record time":
        spec = DestinationSpec("archive", "exports/events/", "ndjson.gz", "1m", time_field="ts")
        inputs = [make_input(lines[i::100], T0 + dt.timedelta(minutes=10), f"in-{i:03d}") for i in range(100)]
    else:  # 100 source objects arriving across the 10 minutes
        spec = SPEC
        inputs = [make_input(lines[i * 100:(i + 1) * 100], T0 + dt.timedelta(seconds=6 * i), f"in-{i:03d}")
                  for i in range(100)]
    result = write_load(inputs, spec, CreateOnlyWriter(client))
    print(f"\n{mode}: {len(result.objects)} objects for {result.rows} records "
          f"({len(result.objects) * 10_000 / result.rows:.0f} objects per 10,000 records)")
    assert result.rows == 10_000 and len(result.objects) == 10 == len(_keys(client))
    assert [o.rows for o in result.objects] == [1000] * 10
