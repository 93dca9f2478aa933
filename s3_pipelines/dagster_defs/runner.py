"""`s3-pipelines run`: discover new objects now, then materialize every pending partition through
Dagster — the same jobs, assets and ledger claims as sensor-triggered runs, executed in this
process against the Dagster instance in $DAGSTER_HOME (so runs show in the UI). The summary is
read from the ledger (what each run loaded), not from the runs' event metadata."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from .. import ingest
from ..config.models import PipelinesConfig
from ..connections.s3 import S3AccessError, S3Client
from ..ledger import Ledger
from .event_runner import drain_and_reconcile, run_snapshots
from .factory import build_definitions, stream_job_name
from ..progress import Poller, Progress
from .run_health import run_is_over, settle
from .run_origin import execute_here
from .run_report import RunReport
from .sink_runner import run_syncs, split_select
from .stream_assets import DISCOVERED_TAG, RETRY_FAILED_TAG, objects_key, records_key

DAGSTER_YAML = Path(__file__).parents[1] / "dagster.yaml"


@dataclass
class StreamOutcome:
    stream: str
    discovered: int = 0
    partitions: list[str] = field(default_factory=list)
    objects: int = 0
    rows: int = 0
    bad_rows: int = 0
    failed_objects: int = 0
    errors: list[str] = field(default_factory=list)  # the stream's own: listing, its objects, its records
    asset_failures: list[str] = field(default_factory=list)  # steps downstream that failed, one line each

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed_objects


def ensure_dagster_home(cfg: PipelinesConfig) -> Path:
    """DAGSTER_HOME if set; else a home beside the config, with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or cfg.resolve(".s3_pipelines/dagster_home"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_pending(cfg: PipelinesConfig, select: list[str] | None = None,
                log: Callable[[str], None] = print, report: RunReport | None = None,
                progress: Progress | None = None) -> list[StreamOutcome]:
    """Streams (and everything built from them, destinations included), then the selected syncs.
    `report` collects per-asset figures and failures of the runs; `progress` shows objects done."""
    streams, syncs = split_select(cfg, select)
    outcomes = _run_streams(cfg, streams, log, report, progress) if streams or not syncs else []
    if syncs:
        ensure_dagster_home(cfg)
        outcomes += run_syncs(cfg, build_definitions(cfg), syncs, log)
    return outcomes


def _run_streams(cfg: PipelinesConfig, select: list[str] | None, log: Callable[[str], None],
                 report: RunReport | None = None, progress: Progress | None = None) -> list[StreamOutcome]:
    ensure_dagster_home(cfg)
    defs = build_definitions(cfg)
    report = report if report is not None else RunReport()
    if not report.by_step:
        report.index(defs)
    ledger = Ledger.from_config(cfg)
    names = select or list(cfg.streams)
    with dg.DagsterInstance.get() as instance:
        holders = {r for n in names for r in ledger.loading_runs(n) | set(ledger.open_partition_runs(n).values())}
        for run_id in settle(instance, ledger, holders, log):  # killed earlier: their objects come back
            log(f"run {run_id} was killed or crashed: marked failed, its objects are taken over")
        # event-driven and snapshot streams: drain their queues, then the reconciling listing
        errors = drain_and_reconcile(cfg, ledger, names, log)
        outcomes = []
        for name in names:
            if cfg.streams[name].snapshot is None:
                outcomes.append(_run_stream(cfg, defs, instance, ledger, name, log, report, progress))
            else:
                outcomes.append(StreamOutcome(name))
                run_snapshots(defs, instance, ledger, name, outcomes[-1])
            outcomes[-1].errors[:0] = errors.get(name, [])
        return outcomes


def _run_stream(cfg, defs, instance, ledger: Ledger, name: str, log, report: RunReport | None = None,
                progress: Progress | None = None) -> StreamOutcome:
    report = report if report is not None else RunReport(defs)
    progress = progress or Progress(enabled=False)
    stream = cfg.streams[name]
    out = StreamOutcome(name)
    try:
        client = S3Client.from_config(cfg.s3_connection(stream.connection))
        cursor_name = f"run:{name}"
        found = ingest.discover_all(client, name, stream, ledger, ledger.get_cursor(cursor_name))
        ledger.set_cursor(cursor_name, found.cursor)
        new, requests = found.new, found.list_requests
    except S3AccessError as e:
        out.errors.append(f"listing {stream.connection}: {e}")
        return out
    out.discovered = len(new)
    out.errors += [f"selected object {uri} does not exist" for uri in found.missing]
    # pending objects, failed ones (read again now: `run` fails while they stay unreadable), and
    # partitions whose last run died or failed before finishing everything
    unfinished = [p for p, run_id in ledger.open_partition_runs(name).items() if run_is_over(instance, ledger, run_id)]
    out.partitions = sorted({*ledger.pending_partitions(name), *ledger.pending_partitions(name, "failed"), *unfinished})
    log(f"{name}: {len(new)} new object version(s), {requests} list request(s); "
        f"partitions to load: {', '.join(out.partitions) or 'none'}")
    job = defs.resolve_job_def(stream_job_name(name))
    runs = set()
    waiting = {p: _unloaded(ledger, name, p) for p in out.partitions}
    task = progress.task(f"{name}: objects", sum(waiting.values())) if out.partitions else None
    base = 0
    for partition in out.partitions:
        failures_before = len(report.failures)
        with Poller(task, lambda p=partition, b=base: b + waiting[p] - _unloaded(ledger, name, p)):
            result = execute_here(
                job, instance, partition_key=partition, raise_on_error=False,
                # nothing on the console: progress and a summary here, every event in the run's logs
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                tags={DISCOVERED_TAG: "1", RETRY_FAILED_TAG: "1", "s3_pipelines/trigger": "cli"},
            )
        base += waiting[partition]
        report.add(result, partition)
        runs.add(result.run_id)
        ledger.end_lease(result.run_id)  # the run is over, whatever its outcome
        if result.success:
            ledger.close_partition_run(name, partition, result.run_id)
        else:
            own = {k.to_user_string() for k in (objects_key(name), records_key(name))}
            for f in report.failures[failures_before:] or [None]:
                if f is None:
                    out.errors.append(f"partition {partition}: run {result.run_id} failed (see its logs in the UI)")
                elif f.asset in own:
                    out.errors.append(f.line())
                else:  # blamed on the asset that failed, not on the stream
                    out.asset_failures.append(f.line())
    if task is not None:
        task.done()
    for r in ledger.rows(name):
        if r.run_id in runs and r.status == "loaded":
            out.objects += 1
            out.rows += r.rows or 0
        if r.run_id in runs and r.status in ("loaded", "failed", "skipped"):
            out.bad_rows += r.bad_rows or 0
        if r.run_id in runs and r.status == "failed":
            out.failed_objects += 1  # each named in its partition's failed records step, one line per partition
    return out


def print_summary(outcomes: list[StreamOutcome], width: int = 24, report: RunReport | None = None) -> bool:
    """The per-stream table of `run` and `demo`, then one line per asset the runs touched; errors to
    stderr, one line each. True when everything loaded and no step failed."""
    width = max([width] + [len(o.stream) for o in outcomes])
    print(f"\n{'stream':<{width}} {'objects':>8} {'rows':>10} {'bad rows':>9}  status")
    for o in outcomes:
        print(f"{o.stream:<{width}} {o.objects:>8} {o.rows:>10} {o.bad_rows:>9}  {'ok' if o.ok else 'FAILED'}")
    if report is not None and report.assets:
        print("\nassets materialized by this run:")
        print("\n".join(report.table()))
    for o in outcomes:
        for e in o.errors:
            print(f"error: {o.stream}: {e}", file=sys.stderr)
        for e in o.asset_failures:
            print(f"error: {e}", file=sys.stderr)
    return all(o.ok and not o.asset_failures for o in outcomes)


def _unloaded(ledger: Ledger, name: str, partition: str) -> int:
    """Objects of a partition not yet read (pending, or being read)."""
    return sum(1 for r in ledger.rows(name, partition) if r.status in ("pending", "loading"))


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            return (err.message or "").strip().splitlines()[-1] if err.message else err.cls_name or "error"
    return "see the run's logs"
