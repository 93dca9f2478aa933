"""Dagster partitions of a stream: windows of arrival (see s3_pipelines.partitions for why).

They start at the stream's first partition: `partitioning.start` as `build_definitions` resolved it
(the configured one, else the first arrival in the ledger; s3_pipelines.partition_starts), so every
asset of one stream, and its sync partitions, share one start."""

from __future__ import annotations

from functools import cache

import dagster as dg

from .. import partitions
from ..config.models import StreamConfig


@cache
def _pdef(granularity: str, start: str) -> dg.TimeWindowPartitionsDefinition:
    # end_offset=1: the window still in progress is a partition, so objects arriving today load today
    if granularity == "hour":
        return dg.HourlyPartitionsDefinition(start_date=start, timezone="UTC", end_offset=1)
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC", end_offset=1)


def partitions_def_for(stream: StreamConfig) -> dg.TimeWindowPartitionsDefinition:
    p = stream.partitioning
    return _pdef(p.granularity, partitions.format_key(p.granularity, partitions.start_of(p)))
