"""Credentials and the boto3 client of one connection, for the three auth modes:

- access_key_and_secret: the configured keys (and session token);
- iam_role: STS AssumeRole (with the configured keys, or the default chain, as the caller),
  refreshed by botocore before the temporary keys expire;
- default: the AWS credential chain (environment, ~/.aws, instance role).
"""

from __future__ import annotations

import datetime as dt
import functools

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from ...config.models import S3ConnectionConfig
from .errors import ErrorMessages, S3AccessError


def signing_region(conn: S3ConnectionConfig) -> str | None:
    # local servers need some signing region; AWS itself resolves None through the chain
    return conn.region or ("us-east-1" if conn.endpoint_url else None)


def botocore_config(conn: S3ConnectionConfig) -> Config:
    style = conn.addressing_style
    if style == "auto" and conn.endpoint_url:
        style = "path"  # local servers rarely resolve bucket.host names
    return Config(
        retries={"mode": "standard", "max_attempts": conn.max_attempts},  # 5xx, SlowDown, conn errors
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        s3={"addressing_style": style},
        # we verify Content-Length and MD5 ourselves; skip CRC trailers some S3-compatible servers reject
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _utc_iso(value: dt.datetime) -> str:
    # botocore's refresh metadata wants an ISO time with its zone; a naive time is UTC
    value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    return value.isoformat()


class ReadyCredentialsProvider(CredentialProvider):
    """Puts ready-made (refreshable) credentials first in a botocore session's chain."""

    METHOD = "s3-pipelines"
    CANONICAL_NAME = "custom-s3-pipelines"

    def __init__(self, credentials):
        super().__init__()
        self._credentials = credentials

    def load(self):
        return self._credentials


class ConnectionAuth:
    """Resolves one connection's credentials and builds its boto3 S3 client.

    Every secret it resolves or receives is registered with `messages`, so no error text shows it.
    """

    def __init__(self, conn: S3ConnectionConfig, messages: ErrorMessages):
        self.conn = conn
        self.messages = messages
        self.assume_role_calls = 0  # read by tests
        self.credentials = None  # botocore credentials, once the client is built

    def resolve_configured_secrets(self) -> None:
        """Reads the configured secrets now, so a missing env variable fails before any request."""
        auth = self.conn.auth
        if auth.mode == "access_key_and_secret":
            self.messages.access_key_id = auth.aws_access_key_id.resolve()
        for ref in (auth.aws_access_key_id, auth.aws_secret_access_key, auth.aws_session_token, auth.external_id):
            if ref is not None:
                self.messages.hide(ref.resolve())

    def _base_session(self) -> botocore.session.Session:
        session = botocore.session.Session()
        auth = self.conn.auth
        if auth.mode != "default" and auth.aws_access_key_id and auth.aws_secret_access_key:
            session.set_credentials(
                auth.aws_access_key_id.resolve(),
                auth.aws_secret_access_key.resolve(),
                auth.aws_session_token.resolve() if auth.aws_session_token else None,
            )
        return session

    def _assume_role(self, sts) -> dict:
        """One AssumeRole call, as the metadata botocore's RefreshableCredentials expects."""
        auth = self.conn.auth
        kw = dict(
            RoleArn=auth.iam_role_arn,
            RoleSessionName=auth.role_session_name,
            DurationSeconds=auth.role_duration_seconds,
        )
        if auth.external_id:
            kw["ExternalId"] = auth.external_id.resolve()
        self.assume_role_calls += 1
        try:
            creds = sts.assume_role(**kw)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise S3AccessError(
                f"STS AssumeRole of {auth.iam_role_arn} failed: {self.messages.describe_botocore(exc)}", "sts"
            ) from None
        self.messages.use_role_keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": _utc_iso(creds["Expiration"]),
        }

    def build_client(self):
        """The boto3 S3 client; an iam_role connection assumes the role here (the first network call)."""
        config = botocore_config(self.conn)
        auth = self.conn.auth
        session = self._base_session()
        if auth.mode == "iam_role":
            sts = session.create_client(
                "sts", region_name=signing_region(self.conn) or "us-east-1", endpoint_url=self.conn.endpoint_url,
                config=config,
            )
            refresh = functools.partial(self._assume_role, sts)
            duration = auth.role_duration_seconds
            # botocore refreshes 15 min before expiry by default: with a 15 min role that would
            # be before every request, so scale the margins to the duration.
            creds = RefreshableCredentials.create_from_metadata(
                refresh(), refresh, "assume-role",
                advisory_timeout=min(15 * 60, duration // 3),
                mandatory_timeout=min(10 * 60, duration // 6),
            )
            session = botocore.session.Session()
            session.get_component("credential_provider").insert_before("env", ReadyCredentialsProvider(creds))
        client = boto3.Session(botocore_session=session).client(
            "s3", region_name=signing_region(self.conn), endpoint_url=self.conn.endpoint_url, config=config
        )
        self.credentials = session.get_credentials()
        if auth.mode == "default" and self.credentials is not None:
            self.messages.access_key_id = self.credentials.access_key
        return client
