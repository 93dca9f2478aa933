"""The SQS queue of an S3 connection: receive with a short long-poll (a sensor tick stays far under
Dagster's 60 s), delete by receipt handle. Credentials are the connection's own."""

from __future__ import annotations

import time
from dataclasses import dataclass

import boto3
import botocore.session
from botocore.config import Config

from ..config.models import S3ConnectionConfig
from ..connections.s3 import S3Client


@dataclass(frozen=True)
class Message:
    id: str
    receipt: str
    body: str
    receive_count: int = 1


class EventQueue:
    def __init__(self, conn: S3ConnectionConfig, s3: S3Client | None = None):
        if not conn.event_queue_url:
            raise ValueError(f"connection of bucket {conn.bucket} has no event_queue_url")
        self.url = conn.event_queue_url
        self.conn = conn
        self._s3 = s3 or S3Client.from_config(conn)
        self._client = None
        self.receive_requests = 0
        self.delete_requests = 0

    @property
    def client(self):
        if self._client is None:
            self._s3.boto  # noqa: B018 - builds the S3 client, which resolves the connection's credentials
            session = botocore.session.get_session()
            session._credentials = self._s3.credentials  # the same (refreshable) credentials as S3
            self._client = boto3.Session(botocore_session=session).client(
                "sqs", region_name=self.conn.sqs_region or self.conn.region or _queue_region(self.url) or "us-east-1",
                endpoint_url=self.conn.sqs_endpoint_url or self.conn.endpoint_url,
                config=Config(retries={"max_attempts": self.conn.max_attempts, "mode": "standard"},
                              connect_timeout=5, read_timeout=30))
        return self._client

    def receive(self, wait_seconds: int = 1, max_messages: int = 10, visibility_seconds: int | None = None) -> list[Message]:
        kw = dict(QueueUrl=self.url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_seconds,
                  MessageSystemAttributeNames=["ApproximateReceiveCount"])
        if visibility_seconds is not None:
            kw["VisibilityTimeout"] = visibility_seconds
        self.receive_requests += 1
        resp = self.client.receive_message(**kw)
        return [Message(m["MessageId"], m["ReceiptHandle"], m.get("Body") or "",
                        int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1)))
                for m in resp.get("Messages", [])]

    def receive_all(self, budget_seconds: float, wait_seconds: int = 1, max_messages: int = 5000,
                    visibility_seconds: int | None = None) -> list[Message]:
        """Batches of ten until one is not full (the queue is drained for now: what arrives later is
        the next tick's, so a busy queue does not hold back what this tick has), the budget is spent
        or `max_messages` came."""
        deadline, out = time.monotonic() + budget_seconds, []
        while time.monotonic() < deadline and len(out) < max_messages:
            batch = self.receive(wait_seconds, visibility_seconds=visibility_seconds)
            out += batch
            if len(batch) < 10:
                break
        return out

    def delete(self, receipts: list[tuple[str, str]]) -> list[str]:
        """Delete (message id, receipt) pairs, ten per request; returns the ids that failed (a stale
        receipt: the message came back and will be received again)."""
        failed = []
        for i in range(0, len(receipts), 10):
            chunk = receipts[i:i + 10]
            self.delete_requests += 1
            resp = self.client.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": r} for n, (_, r) in enumerate(chunk)])
            failed += [chunk[int(f["Id"])][0] for f in resp.get("Failed", [])]
        return failed


def _queue_region(url: str) -> str | None:
    """`https://sqs.eu-west-1.amazonaws.com/123/q` -> eu-west-1."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(".")
    return host[1] if len(host) > 3 and host[0] == "sqs" else None
