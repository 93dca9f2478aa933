"""`S3Client`: the requests the engine makes to one configured connection's bucket.

All keys passed to `S3Client` are full keys in the bucket (connection prefix included);
`s3_pipelines.selection` turns the config's relative keys into full ones. Credentials live in
`auth`, error text in `errors`, the object readers in `streams`.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import BinaryIO

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ...config.models import S3ConnectionConfig
from ...objects import ObjectChangedError, S3Object
from .auth import ConnectionAuth, signing_region
from .errors import ErrorMessages, S3AccessError, error_code
from .streams import RangeReader, open_verified_stream

MULTIPART_THRESHOLD = 64 * 2**20


def _unquote(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


class S3Client:
    """One connection's bucket: listing, ETag-guarded reads, writes. A failed request raises
    S3AccessError (message safe to show); an object that changed or broke raises ObjectError."""

    def __init__(self, conn: S3ConnectionConfig):
        self.conn = conn
        self.bucket = conn.bucket
        self.prefix = conn.prefix
        self.list_requests = 0  # read by benchmarks and tests
        self.head_requests = 0
        self.get_requests = 0
        self._messages = ErrorMessages(conn)
        self._auth = ConnectionAuth(conn, self._messages)
        self._bucket_seen = False

    @classmethod
    def from_config(cls, conn: S3ConnectionConfig) -> "S3Client":
        """No network until the first request (an iam_role client assumes the role then)."""
        client = cls(conn)
        client._auth.resolve_configured_secrets()
        return client

    @functools.cached_property
    def boto(self):
        """The boto3 S3 client (built on first use)."""
        return self._auth.build_client()

    @property
    def credentials(self):
        """botocore credentials, once `boto` is built (refreshable for iam_role)."""
        return self._auth.credentials

    @property
    def assume_role_calls(self) -> int:
        return self._auth.assume_role_calls

    @property
    def region(self) -> str | None:
        return signing_region(self.conn)

    @property
    def endpoint(self) -> str:
        return self._messages.endpoint

    def describe_error(self, exc: BaseException) -> str:
        """A message for humans; never contains secret keys, session tokens, external ids or full key ids."""
        return self._messages.describe(exc)

    def _access_error(self, exc: BaseException) -> S3AccessError:
        return self._messages.access_error(exc)

    def _call(self, method: str, **kw):
        try:
            return getattr(self.boto, method)(**kw)
        except (ClientError, BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None

    def __repr__(self) -> str:
        return (
            f"S3Client(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint!r}, "
            f"auth={self._messages.who()})"
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
            code, status = error_code(exc)
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
            code, status = error_code(exc)
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
        A thread reads up to `prefetch_bytes` ahead (default `streams.PREFETCH_BYTES`, env
        `S3P_PREFETCH_MB`), so the download overlaps decompression and parsing; 0 reads inline."""
        return open_verified_stream(self, obj, prefetch_bytes)

    def open_random_access(self, obj: S3Object, read_ahead: int = 4 << 20) -> BinaryIO:
        """Seekable reader doing ranged GETs (for Parquet footers and row groups)."""
        return RangeReader(self, obj, read_ahead)

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
            raise S3AccessError(f"upload of {local_path} to s3://{self.bucket}/{key} failed: {self._messages.scrub(str(exc))}") from None
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
            if error_code(exc)[1] != 404:
                raise self._access_error(exc) from None
        except (BotoCoreError, S3AccessError) as exc:
            raise self._access_error(exc) from None
        kw = {"Bucket": self.bucket}
        if self.conn.region and self.conn.region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": self.conn.region}
        try:
            self.boto.create_bucket(**kw)
        except ClientError as exc:
            if error_code(exc)[0] != "BucketAlreadyOwnedByYou":
                raise self._access_error(exc) from None
