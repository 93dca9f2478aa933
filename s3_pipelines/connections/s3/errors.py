"""What a failed S3 request means, told without secrets: `S3AccessError` and its message text.

Every message may reach logs, Dagster metadata and the UI, so each one goes through `scrub`, which
hides secret keys, session tokens and external ids, and shortens access key ids to their last four.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ...config.models import S3ConnectionConfig
from ...config.secrets import last4

ACCESS_DENIED_CODES = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AllAccessDisabled", "InvalidClientTokenId", "403", "Forbidden",
}
ROLE_SECRETS_KEPT = 12  # scrub values of the last few role refreshes; older ones have expired anyway


class S3AccessError(RuntimeError):
    """Auth, permission, missing-bucket or network failure, with a message safe to show (no secrets).

    `kind` is one of access_denied, no_bucket, unreachable, no_credentials, sts, server, other.
    """

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


def error_code(exc: ClientError) -> tuple[str, int | None]:
    """The S3 error code and HTTP status of a failed request."""
    return str(exc.response.get("Error", {}).get("Code", "")), exc.response.get("ResponseMetadata", {}).get(
        "HTTPStatusCode"
    )


def is_missing_bucket(exc: ClientError) -> bool:
    code, status = error_code(exc)
    # HeadBucket answers a bare 404 without a code
    return code == "NoSuchBucket" or (exc.operation_name == "HeadBucket" and status == 404)


def connection_reason(exc: BaseException) -> str:
    text = str(getattr(exc, "kwargs", {}).get("error", "")) + " " + str(exc)
    if isinstance(exc, ConnectTimeoutError) or "timed out" in text.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host"
    return "connection failed"


class ErrorMessages:
    """Message text for one connection's failures, and the secret values to keep out of it.

    The auth code registers every secret it resolves or receives (`hide`, `use_role_keys`), since
    botocore and servers may echo them in error text.
    """

    def __init__(self, conn: S3ConnectionConfig):
        self.conn = conn
        self.access_key_id: str | None = None  # shown by its last four characters
        self.secrets: list[str] = []  # shown as <hidden>

    def hide(self, secret: str) -> None:
        self.secrets.append(secret)

    def use_role_keys(self, access_key_id: str, secret_access_key: str, session_token: str) -> None:
        self.secrets += [secret_access_key, session_token]
        del self.secrets[:-ROLE_SECRETS_KEPT]  # a long run refreshes the role many times
        self.access_key_id = access_key_id

    @property
    def endpoint(self) -> str:
        return self.conn.endpoint_url or (f"https://s3.{self.conn.region}.amazonaws.com" if self.conn.region else "AWS S3")

    def who(self) -> str:
        auth = self.conn.auth
        if auth.mode == "iam_role":
            return f"role {auth.iam_role_arn} (mode iam_role)"
        if auth.mode == "default":
            return f"access key {last4(self.access_key_id)} from the default AWS credential chain (mode default)"
        return f"access key {last4(self.access_key_id)} (mode access_key_and_secret)"

    def scrub(self, text: str) -> str:
        # longest first, so a secret containing another is replaced whole
        for secret in sorted(filter(None, self.secrets + [self.access_key_id]), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, last4(secret) if secret == self.access_key_id else "<hidden>")
        return text

    def describe_botocore(self, exc: BaseException) -> str:
        """The error itself, without the bucket context `describe` adds."""
        if isinstance(exc, ClientError):
            code, status = error_code(exc)
            message = exc.response.get("Error", {}).get("Message") or ""
            # only code and message: the rest of an S3 error (StringToSign, AWSAccessKeyId) may identify keys
            return self.scrub(f"{code or status}: {message}".strip(": "))
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return "no AWS credentials found"
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
            return f"cannot reach endpoint {self.conn.endpoint_url or 'AWS'} ({connection_reason(exc)})"
        if isinstance(exc, ReadTimeoutError):
            return f"endpoint {self.endpoint} did not answer in time"
        return self.scrub(f"{type(exc).__name__}: {exc}")

    def describe(self, exc: BaseException) -> str:
        """A message for humans; never contains secret keys, session tokens, external ids or full key ids."""
        if isinstance(exc, S3AccessError):
            return self.scrub(str(exc))
        bucket = self.conn.bucket
        if isinstance(exc, ClientError):
            code, status = error_code(exc)
            if is_missing_bucket(exc):
                return f"bucket {bucket} does not exist"
            if code in ACCESS_DENIED_CODES or status == 403:
                return f"access denied for bucket {bucket} with {self.who()} ({code or status})"
            if status and status >= 500:
                return (
                    f"S3 server error for bucket {bucket} after {self.conn.max_attempts} attempts: "
                    f"{self.describe_botocore(exc)}"
                )
            return f"{exc.operation_name} on bucket {bucket} failed: {self.describe_botocore(exc)}"
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return (
                f"no AWS credentials found for bucket {bucket} (mode {self.conn.auth.mode}): set them in the "
                "connection's auth, the environment, ~/.aws or an instance role"
            )
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
            return self.describe_botocore(exc)
        if isinstance(exc, BotoCoreError):
            return f"request for bucket {bucket} failed: {self.describe_botocore(exc)}"
        return self.scrub(f"{type(exc).__name__}: {exc}")

    def access_error(self, exc: BaseException) -> S3AccessError:
        """`exc` as an S3AccessError with a safe message and a `kind` callers can branch on."""
        if isinstance(exc, S3AccessError):
            return exc
        kind = "other"
        if isinstance(exc, ClientError):
            code, status = error_code(exc)
            if is_missing_bucket(exc):
                kind = "no_bucket"
            elif code in ACCESS_DENIED_CODES or status == 403:
                kind = "access_denied"
            elif status and status >= 500:
                kind = "server"
        elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            kind = "no_credentials"
        elif isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
            kind = "unreachable"
        return S3AccessError(self.describe(exc), kind)
