import gzip
import time
import tracemalloc
import zlib

import pyarrow as pa
import pytest
import zstandard

from s3_pipelines.objects import ObjectError
from s3_pipelines.readers import ReadOptions, read_batches

from .helpers import col, read_bytes

DATA = b"".join(b'{"i": %d, "s": "row %d"}\n' % (i, i) for i in range(5000))


@pytest.mark.parametrize("name", ["a.jsonl.gz", "a.jsonl.gzip", "a.jsonl", "a.bin"])
def test_gzip_detected_by_magic_whatever_the_name(tmp_path, name):
    t, bad = read_bytes(tmp_path, name, gzip.compress(DATA), format="jsonl")
    assert bad == [] and col(t, "i") == list(range(5000))


def test_multi_member_gzip(tmp_path):
    data = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:]) + b"\x00" * 8
    t, _ = read_bytes(tmp_path, "a.jsonl.gz", data)
    assert col(t, "i") == list(range(5000))


def test_zstd_multi_frame(tmp_path):
    c = zstandard.ZstdCompressor()
    t, _ = read_bytes(tmp_path, "a.jsonl.zst", c.compress(DATA[:1000]) + c.compress(DATA[1000:]))
    assert col(t, "i") == list(range(5000))


def test_explicit_compression_none_reads_bytes_as_they_are(tmp_path):
    t, _ = read_bytes(tmp_path, "a.jsonl", DATA, compression="none")
    assert t.num_rows == 5000


@pytest.mark.parametrize("compress,kind", [(gzip.compress, "gzip"), (zstandard.ZstdCompressor().compress, "zstd")])
def test_truncated_stream_is_an_object_error(tmp_path, compress, kind):
    data = compress(DATA)
    with pytest.raises(ObjectError, match=f"truncated or corrupt {kind} stream") as e:
        read_bytes(tmp_path, "a.jsonl", data[: len(data) // 2])
    assert e.value.key == "a.jsonl"


def test_corrupt_gzip_is_an_object_error(tmp_path):
    data = bytearray(gzip.compress(DATA))
    data[100:140] = b"\xff" * 40
    with pytest.raises(ObjectError, match="truncated or corrupt gzip stream"):
        read_bytes(tmp_path, "a.jsonl.gz", bytes(data))


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_decompression_bomb_stops_at_the_limit(tmp_path, compress):
    bomb = compress(b"\n" * (20 << 20))
    with pytest.raises(ObjectError, match="decompressed size exceeds 1000000 bytes"):
        read_bytes(tmp_path, "a.jsonl", bomb, max_decompressed_bytes=1_000_000)


class GzipJsonlGenerator:
    """A forward-only stream of gzip JSON Lines made on the fly: the object never exists whole."""

    def __init__(self, total: int):
        self.total, self.made, self.i = total, 0, 0
        self.z = zlib.compressobj(1, zlib.DEFLATED, 31)
        self.out = b""

    def read(self, n: int = -1) -> bytes:
        while len(self.out) < n and self.z is not None:
            if self.made >= self.total:
                self.out += self.z.flush()
                self.z = None
                break
            block = b"".join(
                b'{"id": %d, "name": "user %d", "v": %d.25, "flag": true}\n' % (j, j, j) for j in range(self.i, self.i + 20000)
            )
            self.i += 20000
            self.made += len(block)
            self.out += self.z.compress(block)
        out, self.out = self.out[:n], self.out[n:]
        return out

    def close(self) -> None:
        pass


class GeneratedSource:
    key = "big.jsonl.gz"

    def __init__(self, total: int):
        self.total = total

    def open_stream(self):
        return GzipJsonlGenerator(self.total)

    def open_random_access(self):
        raise NotImplementedError


def test_memory_stays_bounded_on_a_200mb_object():
    total = 200 << 20
    tracemalloc.start()
    arrow_peak, rows, last_id = 0, 0, None
    start = time.perf_counter()
    try:
        for batch in read_batches(GeneratedSource(total), None, ReadOptions(), lambda b: None):
            rows += batch.num_rows
            last_id = batch.column("id")[-1].as_py()
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
        _, py_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    print(f"\n{rows} rows of a {total >> 20} MB object in {elapsed:.1f}s; python peak {py_peak >> 20} MB, arrow {arrow_peak >> 20} MB")
    assert rows == last_id + 1 and rows > 2_000_000
    assert py_peak < 64 << 20  # the object is 200 MB
    assert arrow_peak < 96 << 20


@pytest.mark.parametrize(
    "name,data",
    [("t.csv.gz", b"a,b\n" + b"1,2\n" * 100000), ("t.json.gz", b"[" + b'{"a":1},' * 100000 + b'{"a":1}]')],
)
def test_truncation_surfaces_through_csv_and_json_parsers(tmp_path, name, data):
    c = gzip.compress(data)
    with pytest.raises(ObjectError, match="truncated or corrupt gzip stream"):
        read_bytes(tmp_path, name, c[: len(c) // 2])
