"""Bulk sync in Dagster: asset `syncs/<name>` partitioned stream × day (`MultiPartitionsDefinition`),
job `<name>_job`; a partition copies one stream's objects of one day (s3_pipelines.syncs.bulk).
Backfills from the UI or `dagster job backfill -j <name>_job`; with `schedule:`, each tick syncs
the previous day of every stream."""

# no `from __future__ import annotations`: Dagster reads the `context` annotation at definition time
import datetime as dt

import dagster as dg

from .. import partitions
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..syncs.bulk import output_base, sync_stream_day
from .stream_assets import RETRY
from .sync_common import SyncDefinitions, sync_job_name, sync_key


def bulk_streams(cfg: PipelinesConfig, name: str) -> list[str]:
    sync = cfg.syncs[name]
    return list(sync.streams or [n for n, s in cfg.streams.items() if s.connection == sync.source])


def first_sync_day(cfg: PipelinesConfig, name: str) -> str:
    """The configured start, else the earliest first partition of the sync's streams (resolved by
    build_definitions), so the sync's days begin where its streams' data does."""
    sync = cfg.syncs[name]
    starts = [partitions.start_of(cfg.streams[s].partitioning) for s in bulk_streams(cfg, name)]
    return sync.start or partitions.format_key("day", min(starts, default=dt.datetime.now(dt.timezone.utc)))


def bulk_sync_definitions(cfg: PipelinesConfig, name: str) -> SyncDefinitions:
    sync = cfg.syncs[name]
    streams = bulk_streams(cfg, name)
    first_day = first_sync_day(cfg, name)
    pdef = dg.MultiPartitionsDefinition({
        "stream": dg.StaticPartitionsDefinition(streams),
        "day": dg.DailyPartitionsDefinition(start_date=first_day, timezone="UTC", end_offset=1),
    })
    dest = cfg.s3_connection(sync.destination)
    spec = dg.AssetSpec(
        key=sync_key(name), group_name="syncs", kinds={"s3", sync.format.split(".")[0]},
        description=sync.description or (
            f"Bulk sync ({sync.mode}): streams {', '.join(streams)} of connection {sync.source} copied per day "
            f"to s3://{dest.bucket}/{dest.prefix}{sync.subfolder.strip('/') + '/' if sync.subfolder else ''}<stream>/<day>/ "
            f"as {sync.format}"),
        metadata={"kind": "bulk", "mode": sync.mode, "source": sync.source, "destination": sync.destination,
                  "format": sync.format, "streams": dg.MetadataValue.json(streams),
                  "primary_key": dg.MetadataValue.json(sync.primary_key)},
    )

    @dg.multi_asset(specs=[spec], name=spec.key.to_python_identifier(), partitions_def=pdef,
                    required_resource_keys={dagster_name(sync.source), dagster_name(sync.destination)}, retry_policy=RETRY)
    def _bulk(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        keys = context.partition_key.keys_by_dimension
        stream, day = keys["stream"], keys["day"]
        src = getattr(context.resources, dagster_name(sync.source)).get_client()
        dst = getattr(context.resources, dagster_name(sync.destination)).get_client()
        r = sync_stream_day(sync, stream, cfg.streams[stream], day, src, dst, log=context.log.info, first_day=first_day)
        p = r.published
        return dg.MaterializeResult(metadata={
            "stream": stream, "day": day, "method": r.method, "objects_read": r.objects_read,
            "bytes_read": r.bytes_read, "rows": r.rows, "rows_deleted": r.rows_deleted,
            "bytes_written": r.bytes_written, "generation": p.generation, "unchanged": p.unchanged,
            "replaced_generation": p.replaced or "", "manifest": f"s3://{dst.bucket}/{p.manifest_key}",
            "keys": dg.MetadataValue.json([o["key"] for o in p.objects[:50]]),
            "output": f"s3://{dst.bucket}/{output_base(dst, sync, stream, day)}",
            "dagster/row_count": r.rows,
        })

    job = dg.define_asset_job(sync_job_name(name), selection=[spec.key],
                              description=f"Bulk sync {name}: one run per stream and day")
    out = SyncDefinitions([_bulk], [job])
    if sync.schedule:
        @dg.schedule(name=f"{dagster_name(name)}_schedule", cron_schedule=sync.schedule, job=job, execution_timezone="UTC")
        def _tick(context: dg.ScheduleEvaluationContext):
            day = (context.scheduled_execution_time - dt.timedelta(days=1)).strftime("%Y-%m-%d")
            for stream in streams:
                key = dg.MultiPartitionKey({"stream": stream, "day": day})
                yield dg.RunRequest(run_key=f"{name}:{key}", partition_key=key)

        out.schedules.append(_tick)
    return out
