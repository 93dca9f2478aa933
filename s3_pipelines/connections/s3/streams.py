"""File-like readers of one S3 object that never return silently wrong or short data.

- `VerifiedStream`: the whole object in order, resumed by a Range GET after a broken connection and
  checked at EOF (length, and MD5 when the ETag is one); `PrefetchReader` runs it ahead in a thread.
- `RangeReader`: seekable, one ranged GET per miss (Parquet footers and row groups).

They only need the client's ETag-guarded `get`, so they take anything with one (`ObjectGetter`).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import queue
import re
import threading
import time
from typing import BinaryIO, Protocol

from botocore.exceptions import IncompleteReadError, ReadTimeoutError, ResponseStreamingError
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from ...objects import ObjectError, S3Object

# Errors while a response body is being read: the connection broke or the body was short.
BODY_ERRORS = (
    ResponseStreamingError, IncompleteReadError, ReadTimeoutError, BotoConnectionError, Urllib3Error,
    http.client.HTTPException, ConnectionError, TimeoutError,
)
MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
RESUME_ATTEMPTS = 4  # consecutive failed resumes of a streamed body
MAX_RESUMES = 16  # in all, per stream
PREFETCH_PIECE = 1 << 20
PREFETCH_BYTES = int(float(os.environ.get("S3P_PREFETCH_MB", "8")) * (1 << 20))


class ObjectGetter(Protocol):
    def get(self, obj: S3Object, byte_range: str | None = None) -> dict:
        """A GetObject response for `obj`, raising ObjectChangedError if its ETag changed."""


def open_verified_stream(client: ObjectGetter, obj: S3Object, prefetch_bytes: int | None = None) -> BinaryIO:
    """Buffered `VerifiedStream`, read ahead by up to `prefetch_bytes` (default PREFETCH_BYTES) in a
    thread so the download overlaps decompression and parsing; 0 reads inline."""
    raw = VerifiedStream(client, obj)
    ahead = PREFETCH_BYTES if prefetch_bytes is None else prefetch_bytes
    if ahead > 0 and obj.size > PREFETCH_PIECE:  # a thread is not worth it for one piece
        raw = PrefetchReader(raw, ahead)
    return io.BufferedReader(raw, buffer_size=1 << 20)


class PrefetchReader(io.RawIOBase):
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
        # a timeout, so a consumer that closed early (setting _stop) never leaves this thread blocked
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


class VerifiedStream(io.RawIOBase):
    """The object's bytes in order; resumes with a Range GET after a broken connection."""

    def __init__(self, client: ObjectGetter, obj: S3Object):
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


class RangeReader(io.RawIOBase):
    """Seekable view of an object: each miss fetches one range (at least `read_ahead` bytes)."""

    def __init__(self, client: ObjectGetter, obj: S3Object, read_ahead: int):
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
