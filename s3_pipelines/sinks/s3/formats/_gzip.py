"""Deterministic, parallel gzip: the input is cut into fixed-size pieces, each compressed on its
own thread as one gzip member (zlib releases the GIL), members written in order. The same bytes in
give the same bytes out whatever the writes' sizes: no file name, mtime 0, OS byte 255 (unknown).
A multi-member file is plain gzip (RFC 1952): gzip, zcat, Python, Spark, Athena and this engine's
readers read it whole."""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

LEVEL = 6  # gzip's own default, as Vector's and Kafka Connect's; a destination may choose 1-9
MEMBER_BYTES = 4 * 2**20  # uncompressed bytes per member
_HEADER = struct.pack("<BBBBLBB", 0x1F, 0x8B, 8, 0, 0, 0, 255)


def member(data: bytes, level: int = LEVEL) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = z.compress(data) + z.flush()
    return _HEADER + body + struct.pack("<LL", zlib.crc32(data), len(data) & 0xFFFFFFFF)


class ParallelGzip:
    """`with ParallelGzip(out) as z: z.write(...)` — at most `threads` + 1 members in memory."""

    def __init__(self, out: BinaryIO, level: int = LEVEL, threads: int | None = None,
                 member_bytes: int = MEMBER_BYTES):
        self.out, self.level, self.member_bytes = out, level, member_bytes
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="s3p-gzip")
        self._buf = bytearray()
        self._pending: list = []
        self._wrote = False

    def write(self, data) -> int:
        self._buf += data
        while len(self._buf) >= self.member_bytes:
            self._submit(bytes(self._buf[: self.member_bytes]))
            del self._buf[: self.member_bytes]
        return len(data)

    def _submit(self, piece: bytes) -> None:
        self._pending.append(self._pool.submit(member, piece, self.level))
        while len(self._pending) > self.threads:
            self.out.write(self._pending.pop(0).result())
        self._wrote = True

    def close(self) -> None:
        try:
            if self._buf or not self._wrote:  # an empty input is one empty member, like gzip's
                self._submit(bytes(self._buf))
                self._buf.clear()
            for f in self._pending:
                self.out.write(f.result())
            self._pending.clear()
        finally:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "ParallelGzip":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._pool.shutdown(cancel_futures=True)
