"""The `connections` section: one model per connection type, and the registry of types.

`type` picks the model (a discriminated union built from `CONNECTION_TYPES`), and so the JSON Schema
and the loader's messages follow the registry. Which types are SQL targets is the business of
`s3_pipelines/targets/registry.py`, which serves these models.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union, get_args

from pydantic import Field, field_validator, model_validator

from .base import Model
from .secrets import SecretRef


class S3Auth(Model):
    mode: Literal["access_key_and_secret", "iam_role", "default"] = Field(
        "default", description="access_key_and_secret | iam_role (STS AssumeRole) | default (AWS chain)"
    )
    aws_access_key_id: SecretRef | None = None
    aws_secret_access_key: SecretRef | None = None
    aws_session_token: SecretRef | None = None
    iam_role_arn: str | None = Field(None, description="role to assume (mode iam_role)")
    external_id: SecretRef | None = Field(None, description="sts:ExternalId of the trust policy")
    role_session_name: str = "s3-pipelines"
    role_duration_seconds: int = Field(3600, ge=900, le=43200)

    @model_validator(mode="after")
    def _mode_fields(self):
        if self.mode == "access_key_and_secret" and not (
            self.aws_access_key_id and self.aws_secret_access_key
        ):
            raise ValueError("mode access_key_and_secret needs aws_access_key_id and aws_secret_access_key")
        if self.mode == "iam_role" and not self.iam_role_arn:
            raise ValueError("mode iam_role needs iam_role_arn")
        if self.mode != "iam_role" and (self.iam_role_arn or self.external_id):
            raise ValueError(f"iam_role_arn / external_id only apply to mode iam_role, not {self.mode}")
        return self


class S3ConnectionConfig(Model):
    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field("", description="the connection sees only keys under this prefix")
    region: str | None = None
    endpoint_url: str | None = Field(None, description="MinIO, R2, a local S3 server")
    auth: S3Auth = Field(default_factory=S3Auth)
    event_queue_url: str | None = Field(None, description="SQS queue receiving this bucket's S3 event notifications "
                                        "(direct, SNS-wrapped or EventBridge-shaped); a sensor per connection reads it")
    sqs_endpoint_url: str | None = Field(None, description="SQS endpoint when not AWS's (default: endpoint_url)")
    sqs_region: str | None = Field(None, description="the queue's region when it differs from the bucket's")
    event_poll_interval_seconds: int = Field(10, ge=5, description="how often the events sensor reads the queue")
    event_visibility_seconds: int = Field(300, ge=30, le=43200, description="received messages stay hidden this "
                                          "long: until the next tick deletes them after its run requests are stored")
    reconcile_interval_seconds: int = Field(600, ge=30, description="with event_queue_url: the listing that "
                                            "registers what notifications missed (and objects gone) runs this often")
    max_attempts: int = Field(8, ge=1, le=30, description="attempts per request on 5xx/throttling")
    addressing_style: Literal["auto", "path", "virtual"] = "auto"

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]", v):
            raise ValueError(f"{v!r} is not a valid S3 bucket name")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.lstrip("/")
        if v and not v.endswith("/"):
            v += "/"
        if ".." in v.split("/"):
            raise ValueError("prefix must not contain '..'")
        return v


class DuckDBConnectionConfig(Model):
    type: Literal["duckdb"]
    path: str = ".s3_pipelines/catalog.duckdb"


class PostgresConnectionConfig(Model):
    type: Literal["postgres"]
    url: str | SecretRef = Field(description="postgresql://user@host:port/db; {env: NAME} when it holds a password")
    schema_name: str = Field("public", alias="schema")

    @field_validator("url")
    @classmethod
    def _no_password_in_file(cls, v):
        if isinstance(v, str) and re.match(r"^[a-z+]+://[^/@:]+:[^/@]+@", v):
            raise ValueError("the url holds a password: use {env: VARIABLE_NAME}")
        return v


# the connection types: a new type is one model above and one line here
CONNECTION_TYPES: dict[str, type[Model]] = {get_args(m.model_fields["type"].annotation)[0]: m for m in (
    S3ConnectionConfig,
    DuckDBConnectionConfig,
    PostgresConnectionConfig,
)}

ConnectionConfig = Annotated[Union[tuple(CONNECTION_TYPES.values())], Field(discriminator="type")]
