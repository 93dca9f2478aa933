"""Per stream: `<stream>/objects` (what is in S3 for a partition) and `<stream>/records` (the
parsed, typed records staged as Parquet), with an asset check on parse errors."""


import json
import os
import socket

import dagster as dg
import pyarrow as pa

from .. import ingest
from ..config.models import StreamConfig
from .metadata import ledger_table, preview_table
from .partitions import partitions_def_for

DISCOVERED_TAG = "s3_pipelines/discovered"  # set by sensors and `s3-pipelines run`: the ledger already holds the objects
PROCESS_TAG = "s3_pipelines/process"  # host:pid:start of the process running a run in-process (`s3-pipelines run`)
STATE = "s3_pipelines_state"


def objects_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([name, "objects"])


def records_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([name, "records"])


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from the state on (None when there is no such process or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_identity() -> str:
    stat = _proc_stat(os.getpid())
    return f"{socket.gethostname()}:{os.getpid()}:{stat[19] if stat else ''}"


def process_gone(identity: str) -> bool:
    """True when the process named by `process_identity()` on this host has ended (killed, crashed);
    False when it runs or when this host cannot tell (another host)."""
    host, pid, start = identity.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    stat = _proc_stat(int(pid))
    if stat is None:
        return False
    return stat[0] == "Z" or bool(start and stat[19] != start)  # a zombie, or the pid was reused


def run_is_over(instance, run_id: str | None) -> bool:
    """The run ended: finished in Dagster, unknown, or its process is gone. A run whose process
    was killed stays STARTED in Dagster forever; it is reported failed here, so the UI agrees."""
    run = instance.get_run_by_id(run_id) if run_id else None
    if run is None or run.is_finished:
        return True
    identity = run.tags.get(PROCESS_TAG)
    if identity and process_gone(identity):
        _fail_dead_run(instance, run, identity)
        return True
    return False


def _fail_dead_run(instance, run, identity: str) -> None:
    instance.report_run_failed(run, message=f"the process running it ({identity}) is gone: killed or crashed")
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def release_dead_runs(instance) -> list[str]:
    """Runs whose process is gone are reported failed, and the pool slots of runs that are over
    are freed. Without the Dagster daemon nobody else does it, and a pool slot held by a killed
    run blocks every later step of that pool for good. Returns the runs reported failed."""
    failed = []
    unfinished = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
                  dg.DagsterRunStatus.CANCELING]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished)):
        identity = run.tags.get(PROCESS_TAG)
        if identity and process_gone(identity):
            _fail_dead_run(instance, run, identity)
            failed.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return failed


def _is_stale(instance):
    return lambda run_id: run_is_over(instance, run_id)


def _tag_process(context) -> None:
    """Name the process executing this run, however it was launched (CLI, UI, daemon), so that a
    later run can tell it was killed."""
    if PROCESS_TAG not in context.run.tags:
        context.instance.add_run_tags(context.run.run_id, {PROCESS_TAG: process_identity()})


def stream_assets(name: str, stream: StreamConfig) -> list[dg.AssetsDefinition]:
    conn = stream.connection
    pdef = partitions_def_for(stream)
    what = stream.description or f"Objects of stream {name}"
    select = stream.select.model_dump(exclude_none=True)

    @dg.asset(
        key=objects_key(name), partitions_def=pdef, group_name=name, kinds={"s3"},
        description=f"{what}: the object versions that arrived in each window (from the load ledger).",
        required_resource_keys={conn, STATE}, pool=f"s3_{conn}",
        metadata={"connection": conn, "select": json.dumps(select), "format": stream.format},
    )
    def objects(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, conn).get_client()
        ledger = getattr(context.resources, STATE).ledger()
        partition = context.partition_key
        _tag_process(context)
        if context.run.tags.get(DISCOVERED_TAG) != "1":
            # launched by hand: no sensor has listed for us, so list the selection for this window
            new = ingest.register_partition(client, name, stream, ledger, partition)
            context.log.info(f"listed {conn} for partition {partition}: {len(new)} new object version(s)")
        rows = ledger.rows(name, partition)
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        return dg.MaterializeResult(metadata={
            "objects": len(rows),
            "bytes": sum(r.obj.size for r in rows),
            **{f"objects_{s}": n for s, n in sorted(by_status.items())},
            "objects_list": ledger_table(rows[:50]),
        })

    @dg.asset(
        key=records_key(name), deps=[objects_key(name)], partitions_def=pdef, group_name=name,
        kinds={"s3", "parquet"}, description=f"{what}: parsed, typed records with provenance, staged as Parquet.",
        required_resource_keys={conn, STATE}, pool=f"s3_{conn}",
        check_specs=[dg.AssetCheckSpec("parse_errors", asset=records_key(name),
                                       description="No unreadable objects or records in the partition")],
        metadata={"format": stream.format, "compression": stream.compression, "on_error": stream.on_error},
    )
    def records(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, conn).get_client()
        state = getattr(context.resources, STATE)
        ledger, staging = state.ledger(), state.staging(context.resources)
        partition = context.partition_key
        _tag_process(context)
        # open until the whole run succeeded: a run that dies after this leaves its partition to redo
        ledger.open_partition_run(name, partition, context.run.run_id)
        report = ingest.load_partition(
            client, name, stream, partition, staging, ledger, context.run.run_id,
            retry_failed=context.run.tags.get(DISCOVERED_TAG) != "1",
            is_stale=_is_stale(context.instance), log=context.log.info,
        )
        if report.fatal:
            raise dg.Failure(description=f"stream {name}, partition {partition}: {report.fatal}",
                             metadata={"objects_loaded": report.count("loaded")})
        part_rows = ledger.rows(name, partition)
        loaded = [r for r in part_rows if r.status == "loaded"]
        failed = [r for r in part_rows if r.status == "failed"]
        bad_rows = sum(r.bad_rows or 0 for r in part_rows if r.status in ("loaded", "failed", "skipped"))
        skipped = [r for r in part_rows if r.status == "skipped"]
        samples = ledger.bad_records(name, partition, limit=20)
        check = dg.AssetCheckResult(
            check_name="parse_errors", asset_key=records_key(name),
            passed=not (failed or skipped or bad_rows),
            severity=dg.AssetCheckSeverity.ERROR if failed else dg.AssetCheckSeverity.WARN,
            metadata={
                "failed_objects": len(failed), "skipped_objects": len(skipped), "bad_records": bad_rows,
                "samples": dg.MetadataValue.md(_bad_md(samples, failed)),
            },
        )
        preview = report.preview()
        return dg.MaterializeResult(
            metadata={
                "objects": report.count("loaded"),
                "rows": report.rows,
                "bad_rows": report.bad_rows,
                "bytes": report.bytes_read,
                "objects_failed": report.count("failed"),
                "objects_skipped": report.count("skipped"),
                "objects_changed": report.count("changed"),
                "partition_objects_loaded": len(loaded),
                "dagster/row_count": sum(r.rows or 0 for r in loaded),
                "staging": dg.MetadataValue.path(staging.location(name, partition)),
                **({"preview": preview_table(preview)} if isinstance(preview, pa.Table) else {}),
            },
            check_results=[check],
        )

    return [objects, records]


def _bad_md(samples: list[dict], failed) -> str:
    if not samples and not failed:
        return "no parse errors"
    lines = ["| object | line | reason |", "|---|---|---|"]
    for s in samples:
        lines.append(f"| {_md(s['key'])} | {s['line'] if s['line'] is not None else ''} | {_md(s['reason'])} |")
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]
