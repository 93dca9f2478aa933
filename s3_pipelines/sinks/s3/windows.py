"""Batch windows: which window each record falls in, from the data — the source object's arrival
time (its LastModified) or a record time field — never the wall clock at write time.

Windows are aligned to the Unix epoch in UTC (`1m` starts at :00 seconds, `1d` at midnight UTC),
so the same record always lands in the same window whatever else a load holds."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse_window(text: str | int | dt.timedelta) -> int:
    """`1m`, `5m`, `1h`, `1d`, `30s` (or seconds, or a timedelta) -> seconds."""
    if isinstance(text, dt.timedelta):
        seconds = int(text.total_seconds())
    elif isinstance(text, int):
        seconds = text
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise ValueError(f"batch_window {text!r}: expected a number and a unit s, m, h or d (e.g. 1m, 1h)")
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"batch_window {text!r} must be positive")
    return seconds


def window_start(when: dt.datetime, seconds: int) -> dt.datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    epoch = int((when - EPOCH).total_seconds() // 1)
    return EPOCH + dt.timedelta(seconds=epoch - epoch % seconds)


class WindowError(ValueError):
    """A record whose time field is missing or unreadable."""


def _epoch_seconds(col: pa.Array, name: str, where: str) -> np.ndarray:
    """Seconds since the epoch (float) of a timestamp, date, ISO 8601 text or epoch-seconds column."""
    t = col.type
    if pa.types.is_timestamp(t):
        us = pc.cast(col, pa.timestamp("us", tz=t.tz)) if t.unit != "us" else col
        secs = pc.divide(pc.cast(us.cast(pa.int64()), pa.float64()), 1e6)
    elif pa.types.is_date(t):
        secs = pc.multiply(pc.cast(col.cast(pa.date32()).cast(pa.int32()), pa.float64()), 86400.0)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        secs = pc.cast(col, pa.float64())
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        secs = _text_seconds(pc.utf8_trim_whitespace(col), name, where)
    else:
        raise WindowError(f"{where}: time field {name!r} has type {t}, not a time")
    if secs.null_count:
        row = int(np.flatnonzero(secs.is_null().to_numpy(zero_copy_only=False))[0])
        raise WindowError(f"{where}: record {row + 1} has no value in time field {name!r}")
    return secs.to_numpy(zero_copy_only=False)


def _text_seconds(col: pa.Array, name: str, where: str) -> pa.Array:
    """ISO 8601 text; a time without a zone offset is UTC."""
    for tz in ("UTC", None):  # one Arrow cast when all texts agree on having an offset or not
        try:
            ts = pc.cast(col, pa.timestamp("us", tz=tz))
            return pc.divide(pc.cast(ts.cast(pa.int64()), pa.float64()), 1e6)
        except pa.ArrowInvalid:
            pass
    out = []
    for i, text in enumerate(col.to_pylist()):
        try:
            t = None if text is None else dt.datetime.fromisoformat(text)
        except ValueError:
            raise WindowError(f"{where}: record {i + 1} has {text!r} in time field {name!r}, "
                              "not an ISO 8601 time") from None
        out.append(None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp())
    return pa.array(out, pa.float64())


def record_windows(batch: pa.RecordBatch, time_field: str, seconds: int, where: str = "batch") -> np.ndarray:
    """Window start (epoch seconds, int64) of each row of `batch`, from its `time_field`."""
    if time_field not in batch.schema.names:
        raise WindowError(f"{where}: records have no time field {time_field!r}")
    secs = np.floor(_epoch_seconds(batch.column(time_field), time_field, where)).astype(np.int64)
    return secs - secs % seconds


@dataclass
class Window:
    """The records of one window of one load, in load order, and the inputs they came from."""

    start: dt.datetime
    batches: list[pa.RecordBatch] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(b.num_rows for b in self.batches)

    def add(self, batch: pa.RecordBatch, input_id: str) -> None:
        if batch.num_rows:
            self.batches.append(batch)
            if input_id not in self.inputs:
                self.inputs.append(input_id)


def split_by_record_time(batches: Iterable[pa.RecordBatch], input_id: str, time_field: str, seconds: int,
                         windows: dict[int, Window]) -> None:
    """Add each row of `batches` to its window in `windows` (keyed by epoch seconds), keeping row order."""
    for batch in batches:
        if not batch.num_rows:
            continue
        starts = record_windows(batch, time_field, seconds, input_id)
        for start in np.unique(starts):
            rows = np.flatnonzero(starts == start)
            part = batch if len(rows) == batch.num_rows else batch.take(pa.array(rows))
            w = windows.setdefault(int(start), Window(EPOCH + dt.timedelta(seconds=int(start))))
            w.add(part, input_id)
