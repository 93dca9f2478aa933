"""An SQS message body -> the object events it holds.

Three shapes arrive on a queue fed by S3:
- an S3 event notification, `{"Records": [{"eventName": "ObjectCreated:Put", "s3": {...}}]}`, keys
  URL-encoded (`+` is a space, `%2F` a slash); S3 first sends `{"Event": "s3:TestEvent"}`;
- the same wrapped by SNS, `{"Type": "Notification", "Message": "<the notification as text>"}`;
- an EventBridge event, `{"source": "aws.s3", "detail-type": "Object Created", "detail": {...}}`
  (keys decoded the same way).
A message that is none of these raises `UnreadableMessage`; the caller reports it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

CREATED, REMOVED = "created", "removed"
EVENTBRIDGE_KINDS = {"Object Created": CREATED, "Object Deleted": REMOVED}


class UnreadableMessage(ValueError):
    """Not an S3 event in any shape we know (the reason says what is wrong)."""


@dataclass(frozen=True)
class ObjectEvent:
    kind: str  # created | removed
    bucket: str
    key: str  # decoded
    name: str  # the event's own name: ObjectCreated:Put, Object Deleted, ...
    time: dt.datetime  # UTC
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None
    version_id: str | None = None


def parse_body(body: str) -> list[ObjectEvent]:
    """The object events of one message; [] for S3's test event and for events of other kinds
    (restores, replication, ...)."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as e:
        raise UnreadableMessage(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise UnreadableMessage("not a JSON object")
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):  # SNS, raw delivery off
        return parse_body(doc["Message"])
    if doc.get("Event") == "s3:TestEvent":
        return []
    if "Records" in doc:
        if not isinstance(doc["Records"], list):
            raise UnreadableMessage("Records is not a list")
        return [e for r in doc["Records"] if (e := _record(r)) is not None]
    if doc.get("source") == "aws.s3" and isinstance(doc.get("detail"), dict):
        e = _eventbridge(doc)
        return [e] if e else []
    raise UnreadableMessage("neither an S3 notification, an SNS notification nor an EventBridge S3 event")


def _time(text) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableMessage(f"event time {text!r} is not ISO 8601") from None
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def _etag(value) -> str | None:
    return str(value).strip('"') if value else None


def _record(r) -> ObjectEvent | None:
    if not isinstance(r, dict):
        raise UnreadableMessage("a record is not an object")
    name = str(r.get("eventName") or "")
    kind = CREATED if name.startswith("ObjectCreated:") else REMOVED if name.startswith("ObjectRemoved:") else None
    if kind is None:
        return None
    try:
        bucket, obj = r["s3"]["bucket"]["name"], r["s3"]["object"]
        key = obj["key"]
    except (KeyError, TypeError):
        raise UnreadableMessage(f"{name}: no s3.bucket.name / s3.object.key") from None
    return ObjectEvent(kind, bucket, unquote_plus(key), name, _time(r.get("eventTime")), _etag(obj.get("eTag")),
                       obj.get("size"), obj.get("sequencer"), obj.get("versionId"))


def _eventbridge(doc: dict) -> ObjectEvent | None:
    kind = EVENTBRIDGE_KINDS.get(doc.get("detail-type"))
    if kind is None:
        return None
    d = doc["detail"]
    try:
        bucket, obj = d["bucket"]["name"], d["object"]
        key = obj["key"]
    except (KeyError, TypeError):
        raise UnreadableMessage(f"{doc.get('detail-type')}: no detail.bucket.name / detail.object.key") from None
    name = f"{doc['detail-type']}:{d.get('reason') or d.get('deletion-type') or ''}".rstrip(":")
    return ObjectEvent(kind, bucket, unquote_plus(key), name, _time(doc.get("time")), _etag(obj.get("etag")),
                       obj.get("size"), obj.get("sequencer"), obj.get("version-id"))


def collapse(events: list[ObjectEvent]) -> list[ObjectEvent]:
    """One event per object and kind: a multipart upload sends ObjectCreated:Put and
    ObjectCreated:CompleteMultipartUpload for one object; a duplicated message repeats one.
    Per (bucket, key) the latest event wins (by sequencer when S3 gives one, else time, and a
    CompleteMultipartUpload over a Put of the same moment)."""
    def order(e: ObjectEvent):
        return (e.sequencer or "", e.time, e.name.endswith("CompleteMultipartUpload"))

    latest: dict[tuple[str, str], ObjectEvent] = {}
    for e in events:
        k = (e.bucket, e.key)
        if k not in latest or order(e) >= order(latest[k]):
            latest[k] = e
    return list(latest.values())
