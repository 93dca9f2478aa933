"""One sensor per stream: an incremental listing step per tick; new objects become run requests
for the partitions they fall in. The cursor is the listing position, small and never a key set.
Partitions holding failed objects whose retry is due (the stream's `retry` backoff) are asked for
too; such runs claim them.

Two run-status sensors follow the runs of the stream jobs: a run that succeeded closes its
partition in the ledger; a run that failed gives its claimed objects back at once (Dagster's run
retries, dagster.yaml, launch it again; the stream sensor asks again for objects left pending)."""


import datetime as dt
import hashlib
import time

import dagster as dg

from .. import ingest
from ..config.models import StreamConfig
from ..config.names import dagster_name
from .datasource_assets import datasource_skip_reason
from .resources import PipelineStateResource
from .stream_assets import DISCOVERED_TAG, STATE


RETRY_PENDING_AFTER = dt.timedelta(minutes=10)


def stream_sensor(name: str, stream: StreamConfig, job) -> dg.SensorDefinition:
    conn = dagster_name(stream.connection)  # the resource key

    @dg.sensor(
        name=f"{dagster_name(name)}_sensor", job=job, minimum_interval_seconds=stream.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if stream.sensor else dg.DefaultSensorStatus.STOPPED,
        required_resource_keys={conn, STATE},
        description=f"Watches {conn} for new objects of stream {name}",
    )
    def watch(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        client = getattr(context.resources, conn).get_client()
        ledger = getattr(context.resources, STATE).ledger()
        if (reason := datasource_skip_reason(ledger, stream)) is not None:  # disabled or deleted: no listing
            return dg.SensorResult(skip_reason=f"{reason}; stream {name} is not watched")
        found = ingest.discover(client, name, stream, ledger, context.cursor)
        new, cursor, requests = found.new, found.cursor, found.list_requests
        for uri in found.missing:
            context.log.warning(f"selected object {uri} does not exist")
        by_partition: dict[str, list] = {}
        for o in new:
            by_partition.setdefault(ingest.partition_of(stream)(o), []).append(o)
        runs = []
        for partition, objs in sorted(by_partition.items()):
            digest = hashlib.sha256("\n".join(f"{o.key}\0{o.etag}" for o in objs).encode()).hexdigest()[:16]
            runs.append(dg.RunRequest(partition_key=partition, run_key=f"{name}:{partition}:{digest}",
                                      tags={DISCOVERED_TAG: "1"}))
        # objects left pending (a run failed before claiming them) are asked for again, at most
        # once per retry window per partition
        window = int(time.time() // RETRY_PENDING_AFTER.total_seconds())
        retry = set(ledger.stale_pending_partitions(name, RETRY_PENDING_AFTER))
        for partition in sorted(retry):
            if partition not in by_partition:
                runs.append(dg.RunRequest(partition_key=partition, run_key=f"{name}:{partition}:retry:{window}",
                                          tags={DISCOVERED_TAG: "1"}))
        runs += due_retry_requests(ledger, name, skip=set(by_partition) | retry)
        context.log.info(f"{len(new)} new object version(s) in {len(runs)} partition(s); {requests} list request(s)")
        if not runs:
            return dg.SensorResult(skip_reason=f"no new objects ({requests} list requests)", cursor=cursor)
        return dg.SensorResult(run_requests=runs, cursor=cursor)

    return watch


def due_retry_requests(ledger, name: str, skip: set[str], job_name: str | None = None) -> list[dg.RunRequest]:
    """Runs of the partitions holding failed objects whose backoff ran out (any run of a partition
    claims them; those in `skip` get one anyway). The key changes with each attempt, and with the
    retry window should a run die before claiming them. Also used by the reconcile sensor of
    event-driven streams."""
    window = int(time.time() // RETRY_PENDING_AFTER.total_seconds())
    runs = []
    for partition, due in sorted(ledger.due_retries(name).items()):
        if partition not in skip:
            digest = hashlib.sha256("\n".join(f"{k}\0{e}\0{n}" for k, e, n in due).encode()).hexdigest()[:16]
            runs.append(dg.RunRequest(job_name=job_name, partition_key=partition, tags={DISCOVERED_TAG: "1"},
                                      run_key=f"{name}:{partition}:failed:{digest}:{window}"))
    return runs


def partition_run_sensors(jobs: dict[str, str]) -> list[dg.SensorDefinition]:
    """`jobs`: stream job name -> stream. Both sensors run by default: they only touch the ledger.
    Their `s3_pipelines_state` parameter is the STATE resource, named as Dagster injects it."""

    def stream_of(context: dg.RunStatusSensorContext) -> tuple[str, str] | None:
        run = context.dagster_run
        partition = run.tags.get("dagster/partition")
        return (jobs[run.job_name], partition) if run.job_name in jobs and partition else None

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="partition_run_succeeded",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A stream job's run succeeded: its partition is closed in the load ledger",
    )
    def succeeded(context: dg.RunStatusSensorContext, s3_pipelines_state: PipelineStateResource):
        if found := stream_of(context):
            ledger = s3_pipelines_state.ledger()
            ledger.close_partition_run(*found, context.dagster_run.run_id)
            ledger.end_lease(context.dagster_run.run_id)

    @dg.run_failure_sensor(
        name="partition_run_failed", default_status=dg.DefaultSensorStatus.RUNNING,
        description="A stream job's run failed: the objects it claimed go back to pending at once",
    )
    def failed(context: dg.RunFailureSensorContext, s3_pipelines_state: PipelineStateResource):
        if found := stream_of(context):
            stream, partition = found
            ledger = s3_pipelines_state.ledger()
            run_id = context.dagster_run.run_id
            held = [r.obj for r in ledger.rows(stream, partition, status="loading") if r.run_id == run_id]
            ledger.release(stream, held, run_id)
            ledger.end_lease(run_id)
            context.log.info(f"{stream} [{partition}]: {len(held)} object(s) of failed run {run_id} back to pending")

    return [succeeded, failed]
