"""Dagster partitions of a stream: windows of arrival (see s3_pipelines.partitions for why)."""

from __future__ import annotations

from functools import cache

import dagster as dg

from ..config.models import StreamConfig


@cache
def _pdef(granularity: str, start: str) -> dg.TimeWindowPartitionsDefinition:
    # end_offset=1: the window still in progress is a partition, so objects arriving today load today
    if granularity == "hour":
        return dg.HourlyPartitionsDefinition(start_date=f"{start}-00:00", timezone="UTC", end_offset=1)
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC", end_offset=1)


def partitions_def_for(stream: StreamConfig) -> dg.TimeWindowPartitionsDefinition:
    return _pdef(stream.partitioning.granularity, stream.partitioning.start.isoformat())
