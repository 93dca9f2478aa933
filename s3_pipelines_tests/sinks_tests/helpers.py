"""Records for the destination tests: JSON Lines text -> the engine's reader -> Arrow batches."""

from __future__ import annotations

import datetime as dt
import json

from s3_pipelines.readers import ReadOptions, read_batches
from s3_pipelines.sinks.s3 import Input
from s3_pipelines.sinks.s3.formats._rows import BytesSource

T0 = dt.datetime(2024, 3, 5, 14, 7, 0, tzinfo=dt.timezone.utc)

# what a faithful record model has to keep: empty objects and arrays at any depth, absent keys
# versus keys holding null, key order, unicode, number literals, big integers, nested values
TRICKY_LINES = [
    '{"id":1,"name":"Zoë ☃ 😀","tags":[],"meta":{}}',
    '{"meta":{"a":{}},"id":2,"extra":null}',
    '{"id":3,"nested":{"list":[{"x":1},{}],"s":"quote \\" and \\\\ and \\n"},"price":1.50}',
    '{"id":4,"big":12345678901234567890,"flag":true,"name":"日本語"}',
    '{}',
    '{"id":6,"tags":["a",{"b":[]}],"name":"comma, and \\"quotes\\""}',
]


def batches_of(lines: list[str], key: str = "src/part.jsonl", batch_rows: int = 65536, fmt: str = "jsonl"):
    data = ("\n".join(lines) + "\n").encode()
    return list(read_batches(BytesSource(data, key), None, ReadOptions(format=fmt, batch_rows=batch_rows, on_error="fail"),
                             lambda bad: None))


def make_input(lines: list[str], arrival: dt.datetime, name: str = "part") -> Input:
    batches = batches_of(lines, f"src/{name}.jsonl")
    return Input(f"bucket/src/{name}.jsonl@etag-{name}", arrival, lambda: iter(batches))


def event_lines(n: int, start: dt.datetime, spread: dt.timedelta, seed: int = 0, pad: int = 0) -> list[str]:
    """n events with a `ts` field spread evenly over `spread` from `start`."""
    step = spread / n
    return [json.dumps({"ts": (start + i * step).isoformat().replace("+00:00", "Z"), "seq": i + seed,
                        "payload": {"v": i % 7, "s": "x" * pad}}) for i in range(n)]
