"""Partitions of a stream are windows of arrival (the object's LastModified), not objects.

A million objects make at most a few thousand partitions (days, or hours), which the Dagster UI and
backfills handle well; Dagster recommends staying under about 100,000 partitions per asset.
The key formats are Dagster's own for daily / hourly partitions, so keys typed by hand match.
"""

from __future__ import annotations

import datetime as dt

from .config.models import Partitioning

FORMATS = {"day": "%Y-%m-%d", "hour": "%Y-%m-%d-%H:%M"}
STEPS = {"day": dt.timedelta(days=1), "hour": dt.timedelta(hours=1)}


def _floor(t: dt.datetime, granularity: str) -> dt.datetime:
    t = t.astimezone(dt.timezone.utc)
    if granularity == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def start_of(p: Partitioning) -> dt.datetime:
    return dt.datetime.combine(p.start, dt.time(), tzinfo=dt.timezone.utc)


def partition_key(p: Partitioning, last_modified: dt.datetime, now: dt.datetime | None = None) -> str:
    """Objects before `start` go to the first partition; clock skew into the future goes to now's."""
    t = max(last_modified, start_of(p))
    t = min(t, now or dt.datetime.now(dt.timezone.utc))
    return _floor(t, p.granularity).strftime(FORMATS[p.granularity])


def window(p: Partitioning, key: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a partition key; the first partition also holds everything older."""
    start = dt.datetime.strptime(key, FORMATS[p.granularity]).replace(tzinfo=dt.timezone.utc)
    end = start + STEPS[p.granularity]
    if start <= start_of(p):
        start = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return start, end
