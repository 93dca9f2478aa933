"""Message shapes: S3 notifications (keys URL-encoded), S3's test event, SNS-wrapped, EventBridge,
a multipart upload's two events, messages that are none of these."""

import json

import pytest

from s3_pipelines.events.messages import CREATED, REMOVED, UnreadableMessage, collapse, parse_body


def s3_record(name, key, etag="abc", size=3, time="2026-12-01T10:00:00.000Z", sequencer=None):
    obj = {"key": key, "size": size, "eTag": etag}
    if sequencer:
        obj["sequencer"] = sequencer
    if name.startswith("ObjectRemoved"):
        obj = {"key": key, **({"sequencer": sequencer} if sequencer else {})}
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": time, "eventName": name,
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "b"}, "object": obj}}


def test_s3_notification_keys_are_url_decoded():
    body = json.dumps({"Records": [s3_record("ObjectCreated:Put", "in/a+b%2Bc%2Fd%3D1.json")]})
    [e] = parse_body(body)
    assert (e.kind, e.bucket, e.key, e.etag, e.size) == (CREATED, "b", "in/a b+c/d=1.json", "abc", 3)


def test_test_event_and_other_kinds_give_nothing():
    assert parse_body(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert parse_body(json.dumps({"Records": [s3_record("ObjectRestore:Completed", "k")]})) == []


def test_sns_wrapped_and_eventbridge():
    inner = json.dumps({"Records": [s3_record("ObjectRemoved:Delete", "x%2Fy")]})
    [e] = parse_body(json.dumps({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:x", "Message": inner}))
    assert (e.kind, e.key) == (REMOVED, "x/y")
    eb = {"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3", "time": "2026-12-01T10:00:00Z",
          "region": "us-east-1", "resources": ["arn:aws:s3:::b"],
          "detail": {"version": "0", "bucket": {"name": "b"}, "reason": "PutObject",
                     "object": {"key": "p/q+r.csv", "size": 5, "etag": "e1", "sequencer": "0A"}}}
    [e] = parse_body(json.dumps(eb))
    assert (e.kind, e.key, e.etag, e.size, e.sequencer) == (CREATED, "p/q r.csv", "e1", 5, "0A")
    eb["detail-type"] = "Object Deleted"
    assert parse_body(json.dumps(eb))[0].kind == REMOVED


@pytest.mark.parametrize("body", ["not json", "[1]", json.dumps({"hello": 1}), json.dumps({"Records": "x"}),
                                  json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]})])
def test_unreadable(body):
    with pytest.raises(UnreadableMessage):
        parse_body(body)


def test_multipart_two_events_count_once_and_latest_event_wins():
    put = s3_record("ObjectCreated:Put", "big", etag="e-2", time="2026-12-01T10:00:00.000Z")
    done = s3_record("ObjectCreated:CompleteMultipartUpload", "big", etag="e-2", time="2026-12-01T10:00:00.000Z")
    events = parse_body(json.dumps({"Records": [done]})) + parse_body(json.dumps({"Records": [put]}))
    [e] = collapse(events)
    assert e.name == "ObjectCreated:CompleteMultipartUpload"
    gone = parse_body(json.dumps({"Records": [s3_record("ObjectRemoved:Delete", "big", time="2026-12-01T10:00:01Z")]}))
    assert [x.kind for x in collapse(events + gone)] == [REMOVED]


def test_config_checks_of_snapshots_and_queues():
    from s3_pipelines.check_events import event_problems

    data = {"connections": {"lake": {"type": "s3", "bucket": "b", "event_queue_url": "my-queue"},
                            "a": {"type": "duckdb"}, "b": {"type": "duckdb"}},
            "streams": {"s": {"connection": "lake", "snapshot": {"mode": "single_table"}},
                        "t": {"connection": "lake", "snapshot": {"mode": "single_table", "target": "lake"}},
                        "u": {"connection": "lake", "snapshot": {"mode": "single_table", "target": "a", "table": "x"}},
                        "v": {"connection": "lake", "snapshot": {"mode": "single_table", "target": "a", "table": "x"}}}}
    problems = event_problems(data)
    assert any(p.startswith("connections.lake.event_queue_url") for p in problems)
    assert any(p.startswith("streams.s.snapshot.target: required") for p in problems)
    assert any(p.startswith("streams.t.snapshot.target: no duckdb/postgres connection") for p in problems)
    assert any(p.startswith("streams.v.snapshot.table: stream u writes table 'x'") for p in problems)
