"""`s3-pipelines run --select NAME` for destinations and syncs: a destination runs in its stream's
job (after the records, entities or table that feed it), so selecting it selects that stream; a
sync runs its own job for today's partitions (every stream of a bulk sync, the day of a model
sync), in this process against the instance in $DAGSTER_HOME, so the runs show in the UI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from ..config.models import PipelinesConfig
from .destination_assets import destination_stream
from .run_origin import execute_here
from .sync_bulk import bulk_streams
from .sync_common import sync_job_name


@dataclass
class SyncOutcome:
    """One sync's runs, in the shape of the `run` summary table (objects read, rows written)."""

    stream: str  # the sync's name, in the table's first column
    partitions: list[str] = field(default_factory=list)
    objects: int = 0
    rows: int = 0
    bad_rows: int = 0
    errors: list[str] = field(default_factory=list)
    asset_failures: list[str] = field(default_factory=list)  # the summary's column; a sync's failures are errors

    @property
    def ok(self) -> bool:
        return not self.errors


def split_select(cfg: PipelinesConfig, select: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """(streams to run — None for all —, syncs to run) of `--select` names."""
    if not select:
        return None, []
    streams, syncs, unknown = [], [], []
    for name in select:
        if name in cfg.streams:
            streams.append(name)
        elif name in cfg.destinations:
            streams.append(destination_stream(cfg, cfg.destinations[name]))
        elif name in cfg.syncs:
            syncs.append(name)
        else:
            unknown.append(name)
    if unknown:
        known = "; ".join(f"{what}: {', '.join(names) or 'none'}" for what, names in (
            ("streams", cfg.streams), ("destinations", cfg.destinations), ("syncs", cfg.syncs)))
        raise ValueError(f"no stream, destination or sync named {', '.join(unknown)} ({known})")
    return list(dict.fromkeys(streams)), syncs


def sync_partitions(cfg: PipelinesConfig, name: str, day: str) -> list:
    if cfg.syncs[name].kind == "bulk":
        return [dg.MultiPartitionKey({"stream": s, "day": day}) for s in bulk_streams(cfg, name)]
    return [day]


def run_syncs(cfg: PipelinesConfig, defs: dg.Definitions, names: list[str],
              log: Callable[[str], None] = print, day: str | None = None) -> list[SyncOutcome]:
    day = day or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    outcomes = []
    with dg.DagsterInstance.get() as instance:
        for name in names:
            out = SyncOutcome(name)
            job = defs.resolve_job_def(sync_job_name(name))
            for key in sync_partitions(cfg, name, day):
                out.partitions.append(str(key))
                result = execute_here(
                    job, instance, partition_key=key, raise_on_error=False,
                    run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                    tags={"s3_pipelines/trigger": "cli"})
                if not result.success:
                    out.errors.append(f"partition {key}: run {result.run_id} failed")
                    continue
                for m in result.get_asset_materialization_events():
                    md = m.materialization.metadata
                    out.objects += md["objects_read"].value if "objects_read" in md else len(md["files"].value)
                    out.rows += md["rows"].value
            log(f"{name}: {len(out.partitions)} partition(s) of {day}: {out.rows} row(s)")
            outcomes.append(out)
    return outcomes
