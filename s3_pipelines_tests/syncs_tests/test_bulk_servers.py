"""The bulk sync engine on both local servers (moto, and `rclone serve s3`, files on disk, which
ignores conditional PUTs): a converted day, a server-side copied day, a re-run that writes nothing,
a replaced generation whose old objects are gone."""

from __future__ import annotations

import datetime as dt
import json

from s3_pipelines.config.models import StreamConfig
from s3_pipelines.config.sinks import BulkSyncConfig
from s3_pipelines.connections.s3 import S3Client
from s3_pipelines.sinks.s3 import get_format
from s3_pipelines.syncs.bulk import sync_stream_day
from s3_pipelines.syncs.publish import current_objects

DAY = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def test_bulk_engine(s3_server, new_bucket):
    client = S3Client.from_config(new_bucket(s3_server))
    dst = S3Client.from_config(client.conn.model_copy(update={"prefix": "archive/"}))
    stream = StreamConfig.model_validate({"connection": "lake", "select": {"prefixes": ["in/"]}, "format": "jsonl"})
    client.put_bytes("in/a.jsonl", b'{"id":1,"s":"Zo\xc3\xab"}\n')
    client.put_bytes("in/b.jsonl", b'{"id":2,"extra":{"k":[]}}\n')
    parquet = BulkSyncConfig(kind="bulk", source="lake", destination="lake", subfolder="p", format="parquet")
    r = sync_stream_day(parquet, "events", stream, DAY, client, dst)
    (key,) = current_objects(dst, f"archive/p/events/{DAY}/")
    data = dst.boto.get_object(Bucket=dst.bucket, Key=key)["Body"].read()
    assert (r.method, r.rows) == ("convert", 2)
    assert get_format("parquet").decode(data) == [{"id": 1, "s": "Zoë", "extra": None}, {"id": 2, "s": None, "extra": {"k": []}}]
    assert sync_stream_day(parquet, "events", stream, DAY, client, dst).published.unchanged

    copy = BulkSyncConfig(kind="bulk", source="lake", destination="lake", subfolder="c", format="json")
    r = sync_stream_day(copy, "events", stream, DAY, client, dst)
    keys = current_objects(dst, f"archive/c/events/{DAY}/")
    assert r.method == "copy" and [dst.boto.get_object(Bucket=dst.bucket, Key=k)["Body"].read() for k in keys] == [
        b'{"id":1,"s":"Zo\xc3\xab"}\n', b'{"id":2,"extra":{"k":[]}}\n']
    client.put_bytes("in/c.jsonl", b'{"id":3}\n')
    r = sync_stream_day(copy, "events", stream, DAY, client, dst)
    assert r.published.replaced and len(current_objects(dst, f"archive/c/events/{DAY}/")) == 3
    listed = [o.key for o in dst.list_page(f"archive/c/events/{DAY}/")[0]]
    manifest = json.loads(dst.boto.get_object(Bucket=dst.bucket, Key=f"archive/c/events/{DAY}/_manifest.json")["Body"].read())
    assert sorted(listed) == sorted([o["key"] for o in manifest["objects"]] + [f"archive/c/events/{DAY}/_manifest.json"])
