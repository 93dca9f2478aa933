"""The reference records of the benchmarks (and of any test that wants many of them): JSON Lines of
one shape (key, name, status, active, amount, count, created_at, email, meta.region,
meta.owner.team, note), reproducible from a seed. Standard library only, so tests can import it."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Iterator

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
CHUNK = 10_000  # records per piece of text


def reference_record(i: int, rng: random.Random) -> dict:
    return {
        "key": f"k-{i}", "name": f"{rng.choice(WORDS)} {i}",
        "status": rng.choice(["active", "archived", "pending"]), "active": rng.random() < 0.7,
        "amount": round(rng.random() * 1000, 2), "count": rng.randint(0, 10_000),
        "created_at": f"2026-11-{rng.randint(1, 28):02d}T12:00:00Z", "email": f"user{i}@example.com",
        "meta": {"region": rng.choice(["eu", "us", "ap"]), "owner": {"team": rng.choice(WORDS)}},
        "note": rng.choice(WORDS) * rng.randint(1, 4),
    }


def record_chunks(seed: int = 1, n: int | None = None) -> Iterator[str]:
    """Records 1..n (endless when n is None) as pieces of JSON Lines text of CHUNK records."""
    rng = random.Random(seed)
    i = 0
    while n is None or i < n:
        chunk = [json.dumps(reference_record(i := i + 1, rng)) for _ in range(CHUNK if n is None else min(CHUNK, n - i))]
        yield "\n".join(chunk) + "\n"


def record_lines(n: int, seed: int = 1) -> Iterator[str]:
    return record_chunks(seed, n)


def write_records_gz(path: Path, n: int, seed: int = 1) -> int:
    """n records, gzip level 1; returns the object's size."""
    with gzip.open(path, "wt", compresslevel=1) as out:
        for text in record_chunks(seed, n):
            out.write(text)
    return path.stat().st_size


def write_jsonl_gz(path: Path, target_bytes: int, seed: int = 1) -> tuple[int, int]:
    """About `target_bytes` of records (whole chunks), gzip level 1; returns (records, raw bytes)."""
    written = records = 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        for text in record_chunks(seed):
            if written >= target_bytes:
                break
            data = text.encode()
            out.write(data)
            written += len(data)
            records += text.count("\n")
    return records, written
