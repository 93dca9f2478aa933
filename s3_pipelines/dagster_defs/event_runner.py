"""What `s3-pipelines run` does for event-driven and snapshot streams, so a cron job gets the
sensors' guarantee: drain each connection's queue into the ledger (a message is deleted once its
objects are ledger rows: the runs follow in this same process), then reconcile by listing; then
apply the newest snapshot of every snapshot table."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from ..config.models import PipelinesConfig
from ..connections.s3 import S3AccessError, S3Client
from ..events.queue import EventQueue
from ..events.route import Router
from ..events.store import EventStore
from ..ledger import Ledger
from .event_sensors import event_streams
from .run_origin import execute_here
from .snapshot_assets import snapshot_job_name
from .stream_assets import DISCOVERED_TAG

DRAIN_SECONDS = 600  # at most this long reading one queue


def drain_and_reconcile(cfg: PipelinesConfig, ledger: Ledger, names: list[str],
                        log: Callable[[str], None] = print) -> dict[str, list[str]]:
    """Errors per stream (an unreachable queue or bucket)."""
    owned = [n for n in names if n in event_streams(cfg)]
    errors: dict[str, list[str]] = {}
    store = EventStore(ledger)
    for conn_name in dict.fromkeys(cfg.streams[n].connection for n in owned):
        conn = cfg.s3_connection(conn_name)
        mine = [n for n in owned if cfg.streams[n].connection == conn_name]
        client = S3Client.from_config(conn)
        try:
            router = Router(cfg, conn_name, client, ledger, store, log=log)
            if conn.event_queue_url:
                queue = EventQueue(conn, client)
                received = 0
                while batch := queue.receive_all(DRAIN_SECONDS, wait_seconds=1,
                                                 visibility_seconds=conn.event_visibility_seconds):
                    routed = router.messages(batch)
                    queue.delete(routed.deletable)
                    received += len(batch)
                log(f"{conn_name}: {received} message(s) read from the queue")
            routed = router.reconcile(mine)
            log(f"{conn_name}: reconciled {', '.join(mine)}: {routed.registered} new object version(s), "
                f"{routed.removed} removed, {routed.list_requests} list request(s)")
        except S3AccessError as e:
            for n in mine:
                errors.setdefault(n, []).append(f"{conn_name}: {e}")
        except Exception as e:  # noqa: BLE001 - SQS errors (botocore) are reported per stream, not raised
            for n in mine:
                errors.setdefault(n, []).append(f"{conn_name} queue: {type(e).__name__}: {e}")
    return errors


def run_snapshots(defs: dg.Definitions, instance, ledger: Ledger, name: str, outcome) -> None:
    """Materialize every snapshot table of stream `name`; fills `outcome` (a runner.StreamOutcome)."""
    job = defs.resolve_job_def(snapshot_job_name(name))
    result = execute_here(job, instance, raise_on_error=False,
                          run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                          tags={DISCOVERED_TAG: "1", "s3_pipelines/trigger": "cli"})
    if not result.success:
        outcome.errors.append(f"snapshot run {result.run_id} failed")
    for r in ledger.rows(name):
        if r.run_id == result.run_id and r.status == "loaded":
            outcome.objects += 1
            outcome.rows += r.rows or 0
