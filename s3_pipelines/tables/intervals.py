"""The `__time` intervals a replace load covers: every bucket of the table's partitioning granularity
(Polaris' time partitioning) that holds at least one loaded row, adjacent buckets joined."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

UNITS = ("hour", "day", "week", "month", "year")


def bucket_starts(times: pa.Array | pa.ChunkedArray, granularity: str) -> set[dt.datetime]:
    """Start of each bucket holding a value (UTC); vectorized."""
    if granularity not in UNITS:
        raise ValueError(f"no buckets for granularity {granularity!r}")
    times = times.drop_null()
    if not len(times):
        return set()
    floored = pc.floor_temporal(times, unit=granularity, week_starts_monday=True)
    return {_utc(t) for t in pc.unique(floored).to_pylist()}


def next_start(start: dt.datetime, granularity: str) -> dt.datetime:
    if granularity == "hour":
        return start + dt.timedelta(hours=1)
    if granularity == "day":
        return start + dt.timedelta(days=1)
    if granularity == "week":
        return start + dt.timedelta(weeks=1)
    if granularity == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def ranges(starts: set[dt.datetime], granularity: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) ranges covering the buckets, adjacent ones joined (fewer DELETE statements)."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for start in sorted(starts):
        end = next_start(start, granularity)
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)
