"""Raw object bytes -> decompressed bytes, streamed in bounded pieces.

gzip goes through zlib (multi-member aware, output bounded per call); zstd through a
`decompressobj` fed in small slices, because `stream_reader` silently stops at a truncated
frame and we must report truncation. Every path counts decompressed bytes against the
decompression-bomb limit. `CODECS` is the registry of compressions (name, key suffixes, magic
bytes, decompressor): a new one is a decompressor and a line there.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

import zstandard

from ..objects import ObjectError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
RAW_READ_BYTES = 1 << 20  # raw bytes pulled from the source per read
OUT_PIECE_BYTES = 1 << 20  # max decompressed bytes produced per zlib call
ZSTD_FEED_BYTES = 4096  # zstd has no output cap per call; small input slices bound it (ratio <= ~32k)


class PushbackStream:
    """A forward-only stream with bytes already read (the sniffed head) put back in front."""

    def __init__(self, raw: BinaryIO, head: bytes = b""):
        self._raw, self._head = raw, head

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._raw.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw.read(n)

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close:
            close()


def detect_compression(head: bytes) -> str:
    return next((c.name for c in CODECS.values() if head.startswith(c.magic)), "none")


def iter_decompressed(raw: PushbackStream, compression: str, key: str, limit: int) -> Iterator[bytes]:
    """Decompressed pieces of `raw` (never empty). Raises ObjectError past `limit` bytes or on a
    truncated / corrupt stream."""
    pieces = (CODECS[compression].decompress if compression != "none" else _plain)(raw, key)
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > limit:
            raise ObjectError(key, f"decompressed size exceeds {limit} bytes (possible decompression bomb)")
        yield piece


def _plain(raw: PushbackStream, key: str) -> Iterator[bytes]:
    while piece := raw.read(RAW_READ_BYTES):
        yield piece


def _gunzip(raw: PushbackStream, key: str) -> Iterator[bytes]:
    d = zlib.decompressobj(wbits=31)
    pending = b""
    try:
        while True:
            if not pending:
                pending = raw.read(RAW_READ_BYTES)
                if not pending:
                    break
            if d.eof:  # another member follows; trailing NUL padding is tolerated like the gzip module
                if not pending.strip(b"\x00"):
                    pending = b""
                    continue
                d = zlib.decompressobj(wbits=31)
            out = d.decompress(pending, OUT_PIECE_BYTES)  # bounded output per call
            pending = d.unused_data if d.eof else d.unconsumed_tail
            if out:
                yield out
        if not d.eof:
            out = d.flush()
            if out:
                yield out
            if not d.eof:
                raise ObjectError(key, "truncated or corrupt gzip stream: unexpected end of data")
    except zlib.error as e:
        raise ObjectError(key, f"truncated or corrupt gzip stream: {e}") from None


def _unzstd(raw: PushbackStream, key: str) -> Iterator[bytes]:
    dctx = zstandard.ZstdDecompressor()
    d, in_frame = dctx.decompressobj(), False
    while buf := raw.read(RAW_READ_BYTES):
        view = memoryview(buf)
        pos = 0
        while pos < len(view):
            if d.eof:  # next frame (read across frames)
                d = dctx.decompressobj()
            piece = view[pos : pos + ZSTD_FEED_BYTES]
            pos += len(piece)
            try:
                out = d.decompress(piece)
            except zstandard.ZstdError as e:
                raise ObjectError(key, f"truncated or corrupt zstd stream: {e}") from None
            in_frame = not d.eof
            if d.eof and d.unused_data:
                pos -= len(d.unused_data)  # those bytes start the next frame
            if out:
                yield out
    if in_frame:
        raise ObjectError(key, "truncated or corrupt zstd stream: unexpected end of data")


@dataclass(frozen=True)
class Codec:
    name: str
    suffixes: tuple[str, ...]
    magic: bytes
    decompress: Callable[[PushbackStream, str], Iterator[bytes]]


CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("gzip", (".gz", ".gzip"), GZIP_MAGIC, _gunzip),
    Codec("zstd", (".zst", ".zstd"), ZSTD_MAGIC, _unzstd),
)}


class ChunkReader:
    """File-like `.read(n)` over an iterator of byte pieces (for ijson and pyarrow's CSV reader),
    with `peek` for sniffing. Keeps an offset into the current piece to avoid re-copying it."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces, self._buf, self._pos = pieces, b"", 0
        self.closed = False

    def peek(self, n: int) -> bytes:
        """Up to n bytes ahead without consuming them (fewer only at end of data)."""
        parts, have = [self._buf[self._pos :]], len(self._buf) - self._pos
        while have < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            parts.append(piece)
            have += len(piece)
        self._buf, self._pos = b"".join(parts), 0
        return self._buf[:n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out = b"".join([self._buf[self._pos :], *self._pieces])
            self._buf, self._pos = b"", 0
            return out
        if self._pos >= len(self._buf):
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._buf, self._pos = piece, 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def next_piece(self) -> bytes:
        """The rest of the current piece, or the next one; b"" at the end."""
        if self._pos < len(self._buf):
            out = self._buf[self._pos :] if self._pos else self._buf
            self._buf, self._pos = b"", 0
            return out
        return next(self._pieces, b"")

    def skip(self, n: int) -> None:
        self.peek(n)
        self._pos += min(n, len(self._buf))

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
