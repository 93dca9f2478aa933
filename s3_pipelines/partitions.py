"""Partitions of a stream are windows of arrival (the object's LastModified), not objects.

A million objects make at most a few thousand partitions (days, or hours), which the Dagster UI and
backfills handle well; Dagster recommends staying under about 100,000 partitions per asset.
The key formats are Dagster's own for daily / hourly partitions, so keys typed by hand match.

The first partition is the configured `start`, else the first arrival the ledger knows of
(`s3_pipelines.partition_starts` resolves it once per process); objects older than it fall into it.
"""

from __future__ import annotations

import datetime as dt

from .config.models import Partitioning

FORMATS = {"day": "%Y-%m-%d", "hour": "%Y-%m-%d-%H:%M"}
STEPS = {"day": dt.timedelta(days=1), "hour": dt.timedelta(hours=1)}
_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def floor(t: dt.datetime, granularity: str) -> dt.datetime:
    t = t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)
    if granularity == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def format_key(granularity: str, t: dt.datetime) -> str:
    return floor(t, granularity).strftime(FORMATS[granularity])


def parse_key(key: str) -> dt.datetime:
    """The start of a daily or hourly key (either: a stream's granularity may have changed since)."""
    for fmt in (FORMATS["hour"], FORMATS["day"]):
        try:
            return dt.datetime.strptime(key, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    raise ValueError(f"not a daily or hourly partition key: {key!r}")


def start_of(p: Partitioning, now: dt.datetime | None = None) -> dt.datetime:
    """The start of the first partition; while none is known (unresolved), the current window's."""
    if p.start is None:
        return floor(now or _utc_now(), p.granularity)
    if isinstance(p.start, dt.datetime):
        return floor(p.start, p.granularity)
    return dt.datetime.combine(p.start, dt.time(), tzinfo=dt.timezone.utc)


def _no_arrival_known(p: Partitioning) -> bool:
    return p.start is None or p._provisional


def _catch_all(p: Partitioning, now: dt.datetime) -> dt.datetime:
    """The window objects older than the partitions go to. Without an arrival in the ledger, it is the
    window of registration, not the provisional start: another process that built its definitions on a
    later day, the ledger still empty, starts there, and a key before its start would be unknown to it.
    Keys registered so are never before any process's start (see partition_starts)."""
    return floor(now, p.granularity) if _no_arrival_known(p) else start_of(p)


def partition_key(p: Partitioning, last_modified: dt.datetime, now: dt.datetime | None = None) -> str:
    """Objects before the first partition go to it; clock skew into the future goes to now's."""
    now = now or _utc_now()
    t = min(max(last_modified, _catch_all(p, now)), now)
    return format_key(p.granularity, t)


def window(p: Partitioning, key: str, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a partition key; the partition older objects go to also holds everything older.
    A hand-launched materialization registers the objects of this window into the key."""
    start = dt.datetime.strptime(key, FORMATS[p.granularity]).replace(tzinfo=dt.timezone.utc)
    end = start + STEPS[p.granularity]
    older = _catch_all(p, now or _utc_now())
    if start < older and _no_arrival_known(p):  # objects of earlier windows are registered into now's
        return start, start
    if start <= older:
        start = _OLDEST
    return start, end
