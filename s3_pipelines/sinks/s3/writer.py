"""Create-only writes: an object is written once and never overwritten.

Each write HEADs its key first: an object with the same content there makes the write a no-op
(by construction the same records give the same bytes and the same key), one with different
content is an error naming the key. The PUT (or CompleteMultipartUpload) then carries
`If-None-Match: *`, which closes the race on stores that honour it (AWS, moto); `rclone serve s3`
ignores it and would overwrite, which is why the HEAD comes first. Content is compared by the
SHA-256 stored in the object's metadata (`x-amz-meta-s3p-sha256`), else by size and MD5 ETag,
else by reading the object.

Objects of `multipart_threshold` bytes or more go up by multipart upload, `part_size` bytes a part
and at most `max_parts_in_memory` parts read at a time; a failed upload is aborted. Uploads a killed
process left behind are aborted by `abort_stale_uploads`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from ...connections.s3 import S3AccessError, S3Client
from ...connections.s3.errors import error_code

META_SHA256 = "s3p-sha256"
MULTIPART_THRESHOLD = 64 * 2**20
PART_SIZE = 16 * 2**20
MIN_PART_SIZE = 5 * 2**20  # S3's floor for every part but the last
MAX_PARTS_IN_MEMORY = 4


class ObjectExistsError(RuntimeError):
    """The key holds an object with other content: nothing was written."""

    def __init__(self, bucket: str, key: str, why: str):
        self.bucket, self.key = bucket, key
        super().__init__(f"s3://{bucket}/{key} already exists with different content ({why}); not overwritten")


@dataclass(frozen=True)
class Content:
    """Encoded bytes of one object (a seekable file), with the digests of what was written."""

    body: BinaryIO
    size: int
    sha256: str  # hex


@dataclass(frozen=True)
class PutResult:
    key: str
    etag: str  # unquoted
    size: int
    created: bool  # False: the same content was there already (a re-run or retry)
    parts: int  # 0 for a single PUT


def _unquote(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def _md5(content: Content) -> str:
    h = hashlib.md5()
    content.body.seek(0)
    for chunk in iter(lambda: content.body.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def _is_precondition_failed(exc: ClientError) -> bool:
    code, status = error_code(exc)
    return status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict")


class CreateOnlyWriter:
    def __init__(self, client: S3Client, *, multipart_threshold: int = MULTIPART_THRESHOLD,
                 part_size: int = PART_SIZE, max_parts_in_memory: int = MAX_PARTS_IN_MEMORY):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size {part_size} is below S3's minimum of {MIN_PART_SIZE} bytes")
        self.client, self.bucket = client, client.bucket
        self.multipart_threshold, self.part_size = multipart_threshold, part_size
        self.max_parts_in_memory = max(1, max_parts_in_memory)
        self.requests: dict[str, int] = {}  # operation -> count, read by tests and benchmarks

    def _call(self, op: str, **kw):
        self.requests[op] = self.requests.get(op, 0) + 1
        return getattr(self.client.boto, op)(Bucket=self.bucket, **kw)

    def _error(self, exc: BaseException) -> S3AccessError:
        return S3AccessError(self.client.describe_error(exc))

    # --- the write -----------------------------------------------------------------------------

    def put(self, key: str, content: Content, content_type: str = "application/octet-stream") -> PutResult:
        try:
            existing = self._same(key, content)
            if existing is not None:
                return existing
            try:
                if content.size >= self.multipart_threshold:
                    return self._multipart(key, content, content_type)
                content.body.seek(0)
                resp = self._call("put_object", Key=key, Body=content.body, ContentLength=content.size,
                                  ContentType=content_type, Metadata={META_SHA256: content.sha256}, IfNoneMatch="*")
                return PutResult(key, _unquote(resp.get("ETag")), content.size, True, 0)
            except ClientError as exc:
                if not _is_precondition_failed(exc):
                    raise
            # another writer got there between our HEAD and PUT
            existing = self._same(key, content)
            if existing is None:
                raise ObjectExistsError(self.bucket, key, "the store refused the write but shows no object")
            return existing
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from None

    def _same(self, key: str, content: Content) -> PutResult | None:
        """None when the key is free; a no-op result when it holds this content; else the error."""
        try:
            head = self._call("head_object", Key=key)
        except ClientError as exc:
            if error_code(exc)[1] == 404:
                return None
            raise
        etag, size = _unquote(head.get("ETag")), int(head["ContentLength"])
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if size != content.size:
            raise ObjectExistsError(self.bucket, key, f"{size} bytes there, {content.size} to write")
        theirs = meta.get(META_SHA256)
        if theirs is not None:
            same = theirs == content.sha256
        elif etag == _md5(content):  # a single-part object: its ETag is its MD5
            same = True
        else:
            same = self._sha256_of(key) == content.sha256
        if not same:
            raise ObjectExistsError(self.bucket, key, "its SHA-256 differs")
        return PutResult(key, etag, size, False, 0)

    def _sha256_of(self, key: str) -> str:
        h = hashlib.sha256()
        body = self._call("get_object", Key=key)["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            h.update(chunk)
        return h.hexdigest()

    # --- multipart -------------------------------------------------------------------------------

    def _multipart(self, key: str, content: Content, content_type: str) -> PutResult:
        upload_id = self._call("create_multipart_upload", Key=key, ContentType=content_type,
                               Metadata={META_SHA256: content.sha256})["UploadId"]
        try:
            parts = self._upload_parts(key, upload_id, content)
            resp = self._call("complete_multipart_upload", Key=key, UploadId=upload_id, IfNoneMatch="*",
                              MultipartUpload={"Parts": parts})
        except BaseException:
            self._abort(key, upload_id)
            raise
        return PutResult(key, _unquote(resp.get("ETag")), content.size, True, len(parts))

    def _upload_parts(self, key: str, upload_id: str, content: Content) -> list[dict]:
        """Parts read from the body one at a time, at most `max_parts_in_memory` in flight."""
        content.body.seek(0)
        etags: dict[int, str] = {}

        def send(number: int, data: bytes) -> None:
            resp = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data)
            etags[number] = resp["ETag"]

        with ThreadPoolExecutor(self.max_parts_in_memory, thread_name_prefix="s3p-part") as pool:
            pending, number = set(), 0
            try:
                while True:
                    data = content.body.read(self.part_size)
                    if not data:
                        break
                    number += 1
                    pending.add(pool.submit(send, number, data))
                    del data
                    if len(pending) >= self.max_parts_in_memory:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in done:
                            f.result()
                for f in pending:
                    f.result()
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
        return [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            pass  # abort_stale_uploads of a later run clears it

    # --- leftovers of killed processes ------------------------------------------------------------

    def abort_stale_uploads(self, prefix: str, older_than: dt.timedelta = dt.timedelta(hours=1),
                            now: dt.datetime | None = None) -> list[str]:
        """Abort the multipart uploads under `prefix` started before `now - older_than` (a killed
        process left them; their parts cost storage). Returns the keys aborted."""
        cutoff = (now or dt.datetime.now(dt.timezone.utc)) - older_than
        aborted, kw = [], {"Prefix": prefix}
        try:
            while True:
                resp = self._call("list_multipart_uploads", **kw)
                for up in resp.get("Uploads", []):
                    started = up["Initiated"]
                    started = started.replace(tzinfo=dt.timezone.utc) if started.tzinfo is None else started
                    if started <= cutoff:
                        self._call("abort_multipart_upload", Key=up["Key"], UploadId=up["UploadId"])
                        aborted.append(up["Key"])
                if not resp.get("IsTruncated"):
                    return aborted
                kw = {"Prefix": prefix, "KeyMarker": resp.get("NextKeyMarker"),
                      "UploadIdMarker": resp.get("NextUploadIdMarker")}
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from None
