"""Sensors of event-driven streams, one pair per S3 connection:

- `<connection>_events` (with `event_queue_url`): a tick first deletes the messages of earlier ticks
  — Dagster stores a tick's run requests together with its cursor, so a cursor at tick N means the
  run requests of tick N are durable — then receives messages for a few seconds (each kept hidden
  for `event_visibility_seconds`), registers their objects in the ledger, keeps the receipts in the
  ledger and asks for runs. No listing at all.
- `<connection>_reconcile`: a full listing of each stream's selection every
  `reconcile_interval_seconds` (the streams' own interval when the connection has no queue):
  registers what notifications missed, marks vanished objects removed, asks again for partitions
  left pending.
Streams of such a connection, and snapshot streams, get these instead of the per-stream listing
sensor. Dead letters (unreadable messages, objects outside every stream) are counted in the
metadata of the connection's `<stream>/objects` assets (observations) and in the sensor's log."""

import json

import dagster as dg

from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..events.queue import EventQueue
from ..events.route import Routed, Router, streams_of
from ..events.store import EventStore
from .resources import PipelineStateResource
from .snapshot_assets import snapshot_definitions, snapshot_job_name
from .sensors import due_retry_requests
from .stream_assets import DISCOVERED_TAG, STATE, objects_key

TICK_BUDGET_SECONDS = 20  # receiving stops after this; a tick stays far under Dagster's 60 s


def event_streams(cfg: PipelinesConfig) -> set[str]:
    """Streams whose sensors are the ones here rather than the per-stream listing sensor."""
    return {n for n, s in cfg.streams.items()
            if s.snapshot is not None or getattr(cfg.connections[s.connection], "event_queue_url", None)}


def event_definitions(cfg: PipelinesConfig, stream_jobs: dict, job_name_of) -> tuple[list, list, list]:
    """(assets, jobs, sensors). `stream_jobs`: stream -> its job; `job_name_of(stream)` its name."""
    assets, snap_jobs, snap_keys = snapshot_definitions(cfg)
    owned = event_streams(cfg)
    sensors = []
    for conn_name in dict.fromkeys(cfg.streams[n].connection for n in owned):
        names = [n for n in streams_of(cfg, conn_name) if n in owned]
        targets = Targets(cfg, names, job_name_of, snap_keys)
        jobs = [snap_jobs[n] if n in snap_jobs else stream_jobs[n] for n in names]
        running = any(cfg.streams[n].sensor for n in names)
        conn = cfg.s3_connection(conn_name)
        if conn.event_queue_url:
            sensors.append(_events_sensor(cfg, conn_name, jobs, targets, running))
        interval = conn.reconcile_interval_seconds if conn.event_queue_url else \
            min(cfg.streams[n].sensor_interval_seconds for n in names)
        sensors.append(_reconcile_sensor(cfg, conn_name, names, jobs, targets, running, interval))
    return assets, list(snap_jobs.values()), sensors


class Targets:
    """What a routed tick asks Dagster for: runs of stream partitions and of snapshot tables."""

    def __init__(self, cfg, names, job_name_of, snap_keys):
        self.cfg, self.names, self.job_name_of, self.snap_keys = cfg, names, job_name_of, snap_keys

    def run_requests(self, routed: Routed, log) -> list[dg.RunRequest]:
        runs = []
        for name, parts in sorted(routed.partitions.items()):
            for partition, run_key in sorted(parts.items()):
                runs.append(dg.RunRequest(job_name=self.job_name_of(name), partition_key=partition, run_key=run_key,
                                          tags={DISCOVERED_TAG: "1"}))
        for name, dirs in sorted(routed.snapshots.items()):
            for d, run_key in sorted(dirs.items()):
                key = self.snap_keys.get(name, {}).get(d)
                if key is None:
                    log(f"{name}: new snapshot directory {d!r}: registered; reload the code location for its asset")
                    continue
                runs.append(dg.RunRequest(job_name=snapshot_job_name(name), run_key=run_key, asset_selection=[key],
                                          tags={DISCOVERED_TAG: "1"}))
        return runs

    def observations(self, store: EventStore, queue: str, routed: Routed, received: int) -> list[dg.AssetObservation]:
        if not (routed.unrouted or routed.unreadable):
            return []
        total, recent = store.dead_letters(queue)
        return [dg.AssetObservation(asset_key=objects_key(n), metadata={
            "event_dead_letters": total, "event_messages_received": received,
            "event_unreadable_this_tick": len(routed.unreadable), "event_unrouted_this_tick": len(routed.unrouted),
            "event_dead_letters_recent": dg.MetadataValue.json(recent),
        }) for n in self.names if self.cfg.streams[n].snapshot is None]


def _summary(routed: Routed, received: int) -> str:
    return (f"{received} message(s): {routed.registered} new object version(s), {routed.seen_again} seen before, "
            f"{routed.removed} removed, {routed.test_events} test event(s), {len(routed.unreadable)} unreadable, "
            f"{len(routed.unrouted)} outside every stream; {routed.run_count()} run(s) asked")


def _events_sensor(cfg, conn_name: str, jobs, targets: Targets, running: bool) -> dg.SensorDefinition:
    conn = cfg.s3_connection(conn_name)
    queue_url = conn.event_queue_url

    @dg.sensor(
        name=f"{dagster_name(conn_name)}_events", jobs=jobs, minimum_interval_seconds=conn.event_poll_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        required_resource_keys={dagster_name(conn_name), STATE},
        description=f"Reads S3 event notifications of {conn_name} from its SQS queue",
    )
    def events(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        client = getattr(context.resources, dagster_name(conn_name)).get_client()
        state: PipelineStateResource = getattr(context.resources, STATE)
        ledger = state.ledger()
        store = EventStore(ledger)
        queue = EventQueue(client.conn, client)
        tick = json.loads(context.cursor)["tick"] if context.cursor else 0
        # the run requests of ticks up to `tick` are stored (the cursor came with them): delete their messages
        done = store.receipts(queue_url, tick)
        if done:
            stale = queue.delete(done)
            store.forget_receipts(queue_url, [m for m, _ in done])
            if stale:
                context.log.info(f"{len(stale)} message(s) came back before deletion; they are received again")
        messages = queue.receive_all(TICK_BUDGET_SECONDS, wait_seconds=1,
                                     visibility_seconds=conn.event_visibility_seconds)
        router = Router(cfg, conn_name, client, ledger, store, staging=state.staging(), log=context.log.warning)
        routed = router.messages(messages)
        store.keep_receipts(queue_url, tick + 1, routed.deletable)
        runs = targets.run_requests(routed, context.log.info)
        context.log.info(_summary(routed, len(messages)) + f"; {len(done)} message(s) of earlier ticks deleted")
        return dg.SensorResult(run_requests=runs, cursor=json.dumps({"tick": tick + 1}),
                               asset_events=targets.observations(store, queue_url, routed, len(messages)),
                               skip_reason=None if runs else f"{len(messages)} message(s), nothing to run")

    return events


def _reconcile_sensor(cfg, conn_name: str, names: list[str], jobs, targets: Targets, running: bool,
                      interval: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{dagster_name(conn_name)}_reconcile", jobs=jobs, minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        required_resource_keys={dagster_name(conn_name), STATE},
        description=f"Lists {', '.join(names)} to register what notifications missed and objects that are gone",
    )
    def reconcile(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        client = getattr(context.resources, dagster_name(conn_name)).get_client()
        state: PipelineStateResource = getattr(context.resources, STATE)
        ledger = state.ledger()
        router = Router(cfg, conn_name, client, ledger, staging=state.staging(), log=context.log.warning)
        routed = router.reconcile(names)
        runs = targets.run_requests(routed, context.log.info)
        for n in names:  # unreadable objects whose backoff ran out (issue 14)
            if cfg.streams[n].snapshot is None:
                runs += due_retry_requests(ledger, n, set(routed.partitions.get(n, {})), targets.job_name_of(n))
        context.log.info(f"reconciled {', '.join(names)}: {routed.registered} new object version(s), "
                         f"{routed.removed} removed, {routed.list_requests} list request(s); {len(runs)} run(s) asked")
        return dg.SensorResult(run_requests=runs,
                               skip_reason=None if runs else f"nothing new ({routed.list_requests} list requests)")

    return reconcile
