"""A bucket whose S3 event notifications go to an SQS queue, both on the moto server, set up
through the API as on AWS (put_bucket_notification_configuration with a QueueConfiguration)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3
import pytest

from s3_pipelines.config.models import S3ConnectionConfig
from s3_pipelines.connections import S3Client


@dataclass
class EventBucket:
    conn: S3ConnectionConfig
    client: S3Client
    sqs: object  # boto3 SQS client
    queue_url: str

    def count(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def event_bucket(moto_server):
    """`event_bucket(prefix="", notify=True, **conn_fields) -> EventBucket`."""

    def make(prefix: str = "", notify: bool = True, visibility: int = 30, **kw) -> EventBucket:
        name = f"e-{uuid.uuid4().hex[:16]}"
        sqs = boto3.client("sqs", endpoint_url=moto_server.endpoint_url, region_name="us-east-1",
                           aws_access_key_id=moto_server.access_key, aws_secret_access_key=moto_server.secret_key)
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
        conn = moto_server.connection(name, prefix, region="us-east-1", event_queue_url=url, **kw)
        client = S3Client.from_config(conn)
        client.ensure_bucket()
        if notify:
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            client.boto.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
        return EventBucket(conn, client, sqs, url)

    return make
