"""One sensor per stream: an incremental listing step per tick; new objects become run requests
for the partitions they fall in. The cursor is the listing position, small and never a key set."""


import datetime as dt
import hashlib
import time

import dagster as dg

from .. import ingest
from ..config.models import StreamConfig
from .stream_assets import DISCOVERED_TAG, STATE, run_is_over


RETRY_PENDING_AFTER = dt.timedelta(minutes=10)


def stream_sensor(name: str, stream: StreamConfig, job) -> dg.SensorDefinition:
    conn = stream.connection

    @dg.sensor(
        name=f"{name}_sensor", job=job, minimum_interval_seconds=stream.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if stream.sensor else dg.DefaultSensorStatus.STOPPED,
        required_resource_keys={conn, STATE},
        description=f"Watches {conn} for new objects of stream {name}",
    )
    def watch(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        client = getattr(context.resources, conn).get_client()
        ledger = getattr(context.resources, STATE).ledger()
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
        # partitions whose last run ended without succeeding (crashed, killed, failed downstream)
        for partition, run_id in ledger.open_partition_runs(name).items():
            run = context.instance.get_run_by_id(run_id)
            if run is not None and run.status == dg.DagsterRunStatus.SUCCESS:
                ledger.close_partition_run(name, partition, run_id)
            elif run_is_over(context.instance, run_id):
                retry.add(partition)
        for partition in sorted(retry):
            if partition not in by_partition:
                runs.append(dg.RunRequest(partition_key=partition, run_key=f"{name}:{partition}:retry:{window}",
                                          tags={DISCOVERED_TAG: "1"}))
        context.log.info(f"{len(new)} new object version(s) in {len(runs)} partition(s); {requests} list request(s)")
        if not runs:
            return dg.SensorResult(skip_reason=f"no new objects ({requests} list requests)", cursor=cursor)
        return dg.SensorResult(run_requests=runs, cursor=cursor)

    return watch
