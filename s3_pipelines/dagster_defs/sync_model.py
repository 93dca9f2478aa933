"""Model sync in Dagster: asset `syncs/<name>` partitioned by day, job `<name>_job`; a partition
reads the model (one object or an archive) and writes it to its target (s3_pipelines.syncs.model)."""

# no `from __future__ import annotations`: Dagster reads the `context` annotation at definition time
import dagster as dg

from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..config.sinks import ModelS3Target
from ..syncs.model import run_model_sync
from .resources import writer_pool
from .stream_assets import RETRY
from .sync_common import SyncDefinitions, sync_job_name, sync_key


def model_sync_definitions(cfg: PipelinesConfig, name: str) -> SyncDefinitions:
    sync = cfg.syncs[name]
    pdef = dg.DailyPartitionsDefinition(start_date=sync.start, timezone="UTC", end_offset=1)
    to_s3 = isinstance(sync.target, ModelS3Target)
    target = sync.target.connection if to_s3 else sync.target.catalog
    where = f"{sync.target.subfolder or '/'} as {sync.target.format}" if to_s3 else f"table {sync.target.table}"
    spec = dg.AssetSpec(
        key=sync_key(name), group_name="syncs",
        kinds={"s3", sync.target.format.split(".")[0]} if to_s3 else {"s3", cfg.connections[target].type},
        description=sync.description or (
            f"Model sync ({sync.mode}): {sync.source.model_from} {sync.source.key} ({sync.source.file_format}) "
            f"of connection {sync.source.connection} -> {target} {where}"),
        metadata={"kind": "model", "mode": sync.mode, "source": dg.MetadataValue.json(sync.source.model_dump()),
                  "target": dg.MetadataValue.json(sync.target.model_dump()),
                  "primary_key": dg.MetadataValue.json(sync.primary_key)},
    )

    @dg.multi_asset(specs=[spec], name=spec.key.to_python_identifier(), partitions_def=pdef,
                    required_resource_keys={dagster_name(sync.source.connection), dagster_name(target)}, retry_policy=RETRY,
                    pool=None if to_s3 else writer_pool(target, cfg.connections[target]))
    def _model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        source = getattr(context.resources, dagster_name(sync.source.connection)).get_client()
        resource = getattr(context.resources, dagster_name(target))
        r = run_model_sync(name, sync, source, context.partition_key,
                           s3_target=resource.get_client() if to_s3 else None,
                           sql_target=None if to_s3 else resource.get_target(), log=context.log.info)
        md = {"files": dg.MetadataValue.json(r.files), "rows": r.rows, "bad_records": r.bad_records,
              "dagster/row_count": r.rows}
        if r.published is not None:
            md.update({"generation": r.published.generation, "unchanged": r.published.unchanged,
                       "keys": dg.MetadataValue.json([o["key"] for o in r.published.objects])})
        else:
            md.update({"dagster/table_name": f"{target}.{r.table}", "rows_inserted": r.rows_inserted,
                       "rows_updated": r.rows_updated, "rows_deleted": r.rows_deleted})
        return dg.MaterializeResult(metadata=md)

    job = dg.define_asset_job(sync_job_name(name), selection=[spec.key],
                              description=f"Model sync {name}: one run per day")
    out = SyncDefinitions([_model], [job])
    if sync.schedule:
        out.schedules.append(dg.build_schedule_from_partitioned_job(job, name=f"{dagster_name(name)}_schedule",
                                                                    cron_schedule=sync.schedule))
    return out
