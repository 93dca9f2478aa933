"""A validated `PipelinesConfig` becomes Dagster `Definitions`."""

from __future__ import annotations

import dagster as dg

from ..check import check_config
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..partition_starts import resolve_starts
from ..targets import is_sql_target
from .event_sensors import event_definitions, event_streams
from .destination_assets import destination_definitions
from .datasource_assets import datasource_definitions
from .mapping_assets import mapping_definitions
from .executor import executor_from_env
from .resources import PipelineStateResource, S3ConnectionResource, SqlTargetResource, state_location
from .sensors import partition_run_sensors, stream_sensor
from .stream_assets import STATE, stream_assets
from .sync_jobs import sync_definitions
from .table_assets import table_definitions
from .translator import S3PipelinesTranslator


def stream_job_name(stream: str) -> str:
    return f"{dagster_name(stream)}_job"


def build_definitions(cfg: PipelinesConfig, translator: S3PipelinesTranslator | None = None) -> dg.Definitions:
    """`translator` decides the assets' keys, groups, kinds, owners, tags and descriptions. Streams
    without a partitions `start` start at their first arrival in the ledger (s3_pipelines.partition_starts)."""
    translator = translator or S3PipelinesTranslator()
    check_config(cfg)  # references, jq, SQL plans: parsing alone does not check them
    # every asset, sensor and sync of a stream partitions from one start, read from the ledger once
    resolve_starts(cfg)
    resources: dict = {
        dagster_name(name): S3ConnectionResource.from_connection(conn)
        for name, conn in cfg.connections.items() if conn.type == "s3"
    }
    resources.update({
        dagster_name(name): SqlTargetResource.from_connection(name, conn, cfg)
        for name, conn in cfg.connections.items() if is_sql_target(conn)
    })
    staging = cfg.state.staging
    resources[STATE] = PipelineStateResource(
        **state_location(cfg),
        staging_path=str(cfg.resolve(staging.path)) if staging.path else None,
        staging_s3=resources[dagster_name(staging.connection)] if staging.connection else None, staging_prefix=staging.prefix,
    )
    assets, jobs, sensors = [], [], []
    downstream = mapping_definitions(cfg, translator) + table_definitions(cfg, translator)
    downstream += destination_definitions(cfg, translator)  # in their stream's job, after what feeds them
    syncs = sync_definitions(cfg)  # partitioned jobs of their own
    owned, stream_jobs = event_streams(cfg), {}  # streams read from S3 events, or snapshots: their own sensors
    for name, stream in cfg.streams.items():
        own = stream_assets(cfg, name, translator)
        assets += own
        # one run per partition takes new objects all the way: records, then entities and tables
        job = dg.define_asset_job(
            stream_job_name(name),
            selection=dg.AssetSelection.assets(*own).downstream(),
            description=f"Load new objects of stream {name} and everything built from them",
            # the run queue limits runs per S3 connection by this tag (deploy/dagster.yaml)
            tags={"s3_pipelines/connection": stream.connection},
        )
        jobs.append(job)
        stream_jobs[name] = job
        if name not in owned:
            sensors.append(stream_sensor(name, stream, job))
    more_assets, more_jobs, more_sensors = event_definitions(cfg, stream_jobs, stream_job_name)
    assets, jobs, sensors = assets + more_assets, jobs + more_jobs, sensors + more_sensors
    sensors += partition_run_sensors({stream_job_name(name): name for name in cfg.streams})
    ds_specs, ds_sensors = datasource_definitions(cfg)  # data sources: external assets and their observation
    assets, sensors = assets + ds_specs, sensors + ds_sensors
    # steps of one run share a process: the assets do their own parallel I/O, and a process per
    # step costs seconds and hundreds of MB on small machines
    return dg.Definitions(assets=assets + downstream + syncs.assets, jobs=jobs + syncs.jobs, sensors=sensors,
                          schedules=syncs.schedules, resources=resources,
                          executor=executor_from_env())
