"""S3 access for one configured connection: auth modes, retries, and reads that never return
silently wrong or short data.

All keys passed to `S3Client` are full keys in the bucket (connection prefix included);
`s3_pipelines.selection` turns the config's relative keys into full ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.client
import io
import os
import queue
import re
import threading
import time
from typing import BinaryIO

import boto3
import botocore.session
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from ...config.models import S3ConnectionConfig
from ...config.secrets import last4
from ...objects import ObjectChangedError, ObjectError, S3Object

ACCESS_DENIED_CODES = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AllAccessDisabled", "InvalidClientTokenId", "403", "Forbidden",
}
# Errors while a response body is being read: the connection broke or the body was short.
BODY_ERRORS = (
    ResponseStreamingError, IncompleteReadError, ReadTimeoutError, BotoConnectionError, Urllib3Error,
    http.client.HTTPException, ConnectionError, TimeoutError,
)
MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
RESUME_ATTEMPTS = 4  # consecutive failed resumes of a streamed body
MAX_RESUMES = 16  # in all, per stream
MULTIPART_THRESHOLD = 64 * 2**20


class S3AccessError(RuntimeError):
    """Auth, permission, missing-bucket or network failure, with a message safe to show (no secrets).

    `kind` is one of access_denied, no_bucket, unreachable, no_credentials, sts, server, other.
    """

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


def _unquote(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _error_code(exc: ClientError) -> tuple[str, int | None]:
    return str(exc.response.get("Error", {}).get("Code", "")), exc.response.get("ResponseMetadata", {}).get(
        "HTTPStatusCode"
    )


class _StaticProvider(CredentialProvider):
    """Puts ready-made (refreshable) credentials first in a botocore session's chain."""

    METHOD = "s3-pipelines"
    CANONICAL_NAME = "custom-s3-pipelines"

    def __init__(self, credentials):
        super().__init__()
        self._credentials = credentials

    def load(self):
        return self._credentials


class S3Client:
    def __init__(self, conn: S3ConnectionConfig):
        self.conn = conn
        self.bucket = conn.bucket
        self.prefix = conn.prefix
        self.list_requests = 0  # read by benchmarks and tests
        self.head_requests = 0
        self.get_requests = 0
        self.assume_role_calls = 0
        self.credentials = None  # botocore credentials, once the client is built
        self._access_key_id: str | None = None
        self._secrets: list[str] = []  # values to scrub from any message
        self._bucket_seen = False

    @classmethod
    def from_config(cls, conn: S3ConnectionConfig) -> "S3Client":
        """No network until the first request (an iam_role client assumes the role then)."""
        client = cls(conn)
        auth = conn.auth
        if auth.mode == "access_key_and_secret":
            client._access_key_id = auth.aws_access_key_id.resolve()
        for ref in (auth.aws_access_key_id, auth.aws_secret_access_key, auth.aws_session_token, auth.external_id):
            if ref is not None:
                client._secrets.append(ref.resolve())  # also fails early on a missing env variable
        return client

    # --- building the boto3 client -----------------------------------------------------------

    @property
    def region(self) -> str | None:
        # local servers need some signing region; AWS itself resolves None through the chain
        return self.conn.region or ("us-east-1" if self.conn.endpoint_url else None)

    def _botocore_config(self) -> Config:
        style = self.conn.addressing_style
        if style == "auto" and self.conn.endpoint_url:
            style = "path"  # local servers rarely resolve bucket.host names
        return Config(
            retries={"mode": "standard", "max_attempts": self.conn.max_attempts},  # 5xx, SlowDown, conn errors
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=32,
            s3={"addressing_style": style},
            # we verify Content-Length and MD5 ourselves; skip CRC trailers some S3-compatible servers reject
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

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
                f"STS AssumeRole of {auth.iam_role_arn} failed: {self._describe_botocore(exc, sts=True)}", "sts"
            ) from None
        self._secrets += [creds["SecretAccessKey"], creds["SessionToken"]]
        del self._secrets[:-12]  # keep the list short over many refreshes; older values are expired anyway
        self._access_key_id = creds["AccessKeyId"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": _utc(creds["Expiration"]).isoformat(),
        }

    @functools.cached_property
    def boto(self):
        """The boto3 S3 client (built on first use)."""
        config = self._botocore_config()
        auth = self.conn.auth
        session = self._base_session()
        if auth.mode == "iam_role":
            sts = session.create_client(
                "sts", region_name=self.region or "us-east-1", endpoint_url=self.conn.endpoint_url, config=config
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
            session.get_component("credential_provider").insert_before("env", _StaticProvider(creds))
        client = boto3.Session(botocore_session=session).client(
            "s3", region_name=self.region, endpoint_url=self.conn.endpoint_url, config=config
        )
        self.credentials = session.get_credentials()
        if auth.mode == "default" and self.credentials is not None:
            self._access_key_id = self.credentials.access_key
        return client

    # --- messages ----------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.conn.endpoint_url or (f"https://s3.{self.conn.region}.amazonaws.com" if self.conn.region else "AWS S3")

    def _who(self) -> str:
        auth = self.conn.auth
        if auth.mode == "iam_role":
            return f"role {auth.iam_role_arn} (mode iam_role)"
        if auth.mode == "default":
            return f"access key {last4(self._access_key_id)} from the default AWS credential chain (mode default)"
        return f"access key {last4(self._access_key_id)} (mode access_key_and_secret)"

    def _scrub(self, text: str) -> str:
        for secret in sorted(filter(None, self._secrets + [self._access_key_id]), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, last4(secret) if secret == self._access_key_id else "<hidden>")
        return text

    def _describe_botocore(self, exc: BaseException, sts: bool = False) -> str:
        if isinstance(exc, ClientError):
            code, status = _error_code(exc)
            message = exc.response.get("Error", {}).get("Message") or ""
            # only code and message: the rest of an S3 error (StringToSign, AWSAccessKeyId) may identify keys
            return self._scrub(f"{code or status}: {message}".strip(": "))
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return "no AWS credentials found"
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
            return f"cannot reach endpoint {self.conn.endpoint_url or 'AWS'} ({_connection_reason(exc)})"
        if isinstance(exc, ReadTimeoutError):
            return f"endpoint {self.endpoint} did not answer in time"
        return self._scrub(f"{type(exc).__name__}: {exc}")

    def describe_error(self, exc: BaseException) -> str:
        """A message for humans; never contains secret keys, session tokens, external ids or full key ids."""
        if isinstance(exc, S3AccessError):
            return self._scrub(str(exc))
        bucket = self.bucket
        if isinstance(exc, ClientError):
            code, status = _error_code(exc)
            if code == "NoSuchBucket" or (exc.operation_name == "HeadBucket" and status == 404):
                return f"bucket {bucket} does not exist"
            if code in ACCESS_DENIED_CODES or status == 403:
                return f"access denied for bucket {bucket} with {self._who()} ({code or status})"
            if status and status >= 500:
                return (
                    f"S3 server error for bucket {bucket} after {self.conn.max_attempts} attempts: "
                    f"{self._describe_botocore(exc)}"
                )
            return f"{exc.operation_name} on bucket {bucket} failed: {self._describe_botocore(exc)}"
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return (
                f"no AWS credentials found for bucket {bucket} (mode {self.conn.auth.mode}): set them in the "
                "connection's auth, the environment, ~/.aws or an instance role"
            )
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
            return self._describe_botocore(exc)
        if isinstance(exc, BotoCoreError):
            return f"request for bucket {bucket} failed: {self._describe_botocore(exc)}"
        return self._scrub(f"{type(exc).__name__}: {exc}")

    def _access_error(self, exc: BaseException) -> S3AccessError:
        if isinstance(exc, S3AccessError):
            return exc
        kind = "other"
        if isinstance(exc, ClientError):
            code, status = _error_code(exc)
            if code == "NoSuchBucket" or (exc.operation_name == "HeadBucket" and status == 404):
                kind = "no_bucket"
            elif code in ACCESS_DENIED_CODES or status == 403:
                kind = "access_denied"
            elif status and status >= 500:
                kind = "server"
        elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            kind = "no_credentials"
        elif isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
            kind = "unreachable"
        return S3AccessError(self.describe_error(exc), kind)

    def _call(self, method: str, **kw):
        try:
            return getattr(self.boto, method)(**kw)
        except (ClientError, BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None

    def __repr__(self) -> str:
        return (
            f"S3Client(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint!r}, "
            f"auth={self._who()})"
        )

    # --- listing and metadata ----------------------------------------------------------------

    def list_page(
        self, prefix: str, start_after: str | None = None, token: str | None = None, max_keys: int = 1000
    ) -> tuple[list[S3Object], str | None]:
        """One ListObjectsV2 request; returns the objects and the continuation token (None at the end)."""
        kw = dict(Bucket=self.bucket, Prefix=prefix, MaxKeys=max_keys)
        if token:
            kw["ContinuationToken"] = token
        elif start_after:
            kw["StartAfter"] = start_after
        self.list_requests += 1
        resp = self._call("list_objects_v2", **kw)
        objects = [
            S3Object(self.bucket, c["Key"], _unquote(c.get("ETag")), int(c.get("Size", 0)), _utc(c["LastModified"]))
            for c in resp.get("Contents", [])
        ]
        return objects, (resp.get("NextContinuationToken") if resp.get("IsTruncated") else None)

    def head(self, key: str) -> S3Object | None:
        self.head_requests += 1
        try:
            resp = self.boto.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code, status = _error_code(exc)
            if status == 404 and code != "NoSuchBucket":
                self._check_bucket_once()  # a HEAD 404 has no body: a missing bucket looks like a missing key
                return None
            raise self._access_error(exc) from None
        except (BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None
        return S3Object(self.bucket, key, _unquote(resp.get("ETag")), int(resp["ContentLength"]), _utc(resp["LastModified"]))

    def _check_bucket_once(self) -> None:
        if self._bucket_seen:
            return
        try:
            self.boto.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None
        self._bucket_seen = True

    # --- reading -----------------------------------------------------------------------------

    def get(self, obj: S3Object, byte_range: str | None = None) -> dict:
        """GET guarded by the listed ETag (If-Match, and compared again since some servers ignore it)."""
        kw = dict(Bucket=self.bucket, Key=obj.key)
        if obj.etag:
            kw["IfMatch"] = f'"{obj.etag}"'
        if byte_range:
            kw["Range"] = byte_range
        self.get_requests += 1
        try:
            resp = self.boto.get_object(**kw)
        except ClientError as exc:
            code, status = _error_code(exc)
            if status == 412 or code == "PreconditionFailed":
                raise ObjectChangedError(obj.key, f"object changed since it was listed (ETag {obj.etag})") from None
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                raise ObjectChangedError(obj.key, "object deleted since listed") from None
            raise self._access_error(exc) from None
        except (BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None
        etag = _unquote(resp.get("ETag"))
        if obj.etag and etag and etag != obj.etag:
            resp["Body"].close()
            raise ObjectChangedError(obj.key, f"object changed since it was listed (ETag {obj.etag}, now {etag})")
        return resp

    def open_stream(self, obj: S3Object, prefetch_bytes: int | None = None) -> BinaryIO:
        """Forward-only reader of the whole object, verified at EOF (length, and MD5 when the ETag is one).
        A thread reads up to `prefetch_bytes` ahead (default PREFETCH_BYTES, env
        `S3P_PREFETCH_MB`), so the download overlaps decompression and parsing; 0 reads inline."""
        raw = _VerifiedStream(self, obj)
        ahead = PREFETCH_BYTES if prefetch_bytes is None else prefetch_bytes
        if ahead > 0 and obj.size > PREFETCH_PIECE:
            raw = _Prefetch(raw, ahead)
        return io.BufferedReader(raw, buffer_size=1 << 20)

    def open_random_access(self, obj: S3Object, read_ahead: int = 4 << 20) -> BinaryIO:
        """Seekable reader doing ranged GETs (for Parquet footers and row groups)."""
        return _RangeReader(self, obj, read_ahead)

    # --- writing -----------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> str:
        """Returns the new object's ETag (unquoted)."""
        return _unquote(self._call("put_object", Bucket=self.bucket, Key=key, Body=data).get("ETag"))

    def upload_file(self, local_path, key: str) -> None:
        """Multipart above 64 MB; s3transfer aborts the multipart upload if a part fails."""
        config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=16 * 2**20, max_concurrency=4)
        try:
            self.boto.upload_file(str(local_path), self.bucket, key, Config=config)
        except S3UploadFailedError as exc:
            cause = exc.__context__
            if isinstance(cause, (ClientError, BotoCoreError, S3AccessError)):
                raise self._access_error(cause) from None
            raise S3AccessError(f"upload of {local_path} to s3://{self.bucket}/{key} failed: {self._scrub(str(exc))}") from None
        except (ClientError, BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None

    def delete(self, key: str) -> None:
        self._call("delete_object", Bucket=self.bucket, Key=key)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (demo and tests)."""
        try:
            self.boto.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc)[1] != 404:
                raise self._access_error(exc) from None
        except (BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None
        kw = {"Bucket": self.bucket}
        if self.conn.region and self.conn.region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": self.conn.region}
        try:
            self.boto.create_bucket(**kw)
        except ClientError as exc:
            if _error_code(exc)[0] != "BucketAlreadyOwnedByYou":
                raise self._access_error(exc) from None


def _connection_reason(exc: BaseException) -> str:
    text = str(getattr(exc, "kwargs", {}).get("error", "")) + " " + str(exc)
    if isinstance(exc, ConnectTimeoutError) or "timed out" in text.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host"
    return "connection failed"


PREFETCH_PIECE = 1 << 20
PREFETCH_BYTES = int(float(os.environ.get("S3P_PREFETCH_MB", "8")) * (1 << 20))


class _Prefetch(io.RawIOBase):
    """Reads a raw stream ahead in a thread, at most `ahead` bytes (pieces of PREFETCH_PIECE) beyond
    what the consumer took; an exception of the reading thread is raised to the consumer as is."""

    _END = object()

    def __init__(self, raw: io.RawIOBase, ahead: int):
        self._raw = raw
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead // PREFETCH_PIECE))
        self._stop = threading.Event()
        self._piece = memoryview(b"")
        self._eof = False
        self._thread = threading.Thread(target=self._fill, name="s3-prefetch", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                buf = bytearray(PREFETCH_PIECE)
                n = self._raw.readinto(buf)
                if not n:
                    break
                self._put(bytes(memoryview(buf)[:n]) if n < len(buf) else bytes(buf))
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._piece:
            if self._eof:
                return 0
            item = self._queue.get()
            if item is self._END:
                self._eof = True
                return 0
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            self._piece = memoryview(item)
        n = min(len(buffer), len(self._piece))
        buffer[:n] = self._piece[:n]
        self._piece = self._piece[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join(timeout=5)
            self._raw.close()
        super().close()


class _VerifiedStream(io.RawIOBase):
    """The object's bytes in order; resumes with a Range GET after a broken connection."""

    def __init__(self, client: S3Client, obj: S3Object):
        self._client, self._obj = client, obj
        self._offset = 0
        self._md5 = hashlib.md5() if MD5_ETAG.match(obj.etag) else None
        self._done = False
        self._resumes = 0
        resp = client.get(obj)
        self._length = int(resp["ContentLength"])
        if self._length != obj.size:
            resp["Body"].close()
            raise ObjectError(obj.key, f"response size is {self._length} bytes, listed as {obj.size} with the same ETag")
        if resp.get("ServerSideEncryption", "").startswith("aws:kms") or resp.get("SSECustomerAlgorithm"):
            self._md5 = None  # the ETag of an encrypted object is not the MD5 of its bytes
        self._body = resp["Body"]

    def readable(self) -> bool:
        return True

    def _resume(self) -> None:
        self._body.close()
        resp = self._client.get(self._obj, byte_range=f"bytes={self._offset}-")
        expected = f"bytes {self._offset}-{self._length - 1}/{self._length}"
        if resp.get("ContentRange") != expected:
            resp["Body"].close()
            raise ObjectError(self._obj.key, f"resume at byte {self._offset}: server answered range {resp.get('ContentRange')!r}")
        self._body = resp["Body"]

    def readinto(self, buffer) -> int:
        if self._done or len(buffer) == 0:
            return 0
        failures = 0  # consecutive, without progress
        while True:
            try:
                n = self._body.readinto(buffer)
                break
            except BODY_ERRORS as exc:
                failures += 1
                self._resumes += 1
                if failures > RESUME_ATTEMPTS or self._resumes > MAX_RESUMES or self._offset >= self._length:
                    raise ObjectError(
                        self._obj.key,
                        f"truncated: connection failed at byte {self._offset} of {self._length} "
                        f"after {self._resumes - 1} resumes ({type(exc).__name__})",
                    ) from None
                time.sleep(0.1 * 2 ** (failures - 1))
                self._resume()
        if n == 0:
            self._finish()
            return 0
        self._offset += n
        if self._offset > self._length:
            raise ObjectError(self._obj.key, f"more bytes than Content-Length {self._length}")
        if self._md5 is not None:
            self._md5.update(memoryview(buffer)[:n])
        return n

    def _finish(self) -> None:
        self._done = True
        self._body.close()
        if self._offset != self._length:
            raise ObjectError(self._obj.key, f"truncated: got {self._offset} of {self._length} bytes")
        if self._md5 is not None and self._md5.hexdigest() != self._obj.etag:
            raise ObjectError(self._obj.key, f"MD5 of the bytes read is {self._md5.hexdigest()}, ETag is {self._obj.etag}")

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class _RangeReader(io.RawIOBase):
    """Seekable view of an object: each miss fetches one range (at least `read_ahead` bytes)."""

    def __init__(self, client: S3Client, obj: S3Object, read_ahead: int):
        self._client, self._obj, self._read_ahead = client, obj, max(1, read_ahead)
        self._pos = 0
        self._buf, self._buf_start = b"", 0
        self.name = obj.uri

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        return self._obj.size

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._obj.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _fetch(self, start: int, length: int) -> None:
        end = min(start + length, self._obj.size)
        for attempt in range(RESUME_ATTEMPTS + 1):
            resp = self._client.get(self._obj, byte_range=f"bytes={start}-{end - 1}")
            try:
                data = resp["Body"].read()
            except BODY_ERRORS:
                data = None
            if data is not None and len(data) == end - start:
                self._buf, self._buf_start = data, start
                return
            if attempt < RESUME_ATTEMPTS:
                time.sleep(0.1 * 2**attempt)
        raise ObjectError(self._obj.key, f"could not read bytes {start}-{end - 1} after {RESUME_ATTEMPTS + 1} attempts")

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(out) and self._pos < self._obj.size:
            in_buf = self._buf_start <= self._pos < self._buf_start + len(self._buf)
            if not in_buf:
                self._fetch(self._pos, max(len(out) - filled, self._read_ahead))
            lo = self._pos - self._buf_start
            chunk = self._buf[lo : lo + len(out) - filled]
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self._pos += len(chunk)
        return filled
