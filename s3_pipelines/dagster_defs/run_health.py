"""Whether a run is over, and what happens to runs that stopped without saying so.

Two signals, neither of them a process table: Dagster's run status (a run that finished, failed or
was canceled is over) and the run's lease in the ledger (renewed while the run works, on any host;
a lease that ran out means the process was killed, crashed or lost its machine).

In a deployment, Dagster's run monitoring (dagster.yaml) fails runs that exceed their maximum
runtime and run retries launch them again; the run-status sensors (sensors.py) then hand their
objects back. `s3-pipelines run` executes in its own process with no daemon, so a killed run of
it would show as running for ever: `end_abandoned_runs` marks such runs failed, with the same
RUN_FAILURE event run monitoring writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable

import dagster as dg

from ..ledger import Ledger


def dagster_says_over(instance: dg.DagsterInstance) -> Callable[[str], bool]:
    """For the ledger's claims: the run finished in Dagster, or Dagster does not know it."""

    def over(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id) if run_id else None
        return run is None or run.is_finished

    return over


def run_is_over(instance: dg.DagsterInstance, ledger: Ledger, run_id: str | None) -> bool:
    """Finished or unknown in Dagster, or its lease in the ledger ran out."""
    if not run_id or dagster_says_over(instance)(run_id):
        return True
    expires = ledger.lease_expiry([run_id]).get(run_id)
    return expires is not None and expires <= _now()


def end_abandoned_runs(instance: dg.DagsterInstance, ledger: Ledger) -> list[str]:
    """Runs whose lease ran out while Dagster still shows them in progress are marked failed; the
    leases of runs that are over are ended. Returns the runs marked failed."""
    failed = []
    for run_id in ledger.expired_leases():
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            holder = "its process stopped renewing its lease in the ledger (killed, crashed or host lost)"
            instance.report_dagster_event(
                dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_FAILURE.value, job_name=run.job_name,
                                message=f"This run was abandoned: {holder}. Its objects are taken over."),
                run_id=run_id, log_level=logging.ERROR,
            )
            failed.append(run_id)
        ledger.end_lease(run_id)
    return failed


def settle(instance: dg.DagsterInstance, ledger: Ledger, holders: Iterable[str], log: Callable[[str], None],
           sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Before loading: runs of other processes that hold claims or open partitions either renew
    their lease (alive: their objects are theirs) or let it run out (gone: taken over). Waits at
    most one lease for that, then ends the abandoned runs."""
    now = _now()
    live = {r: e for r, e in ledger.lease_expiry(set(holders)).items()
            if e > now and not dagster_says_over(instance)(r)}
    if live:
        wait = (dt.datetime.fromisoformat(max(live.values())) - dt.datetime.now(dt.timezone.utc)).total_seconds()
        log(f"{len(live)} other run(s) hold objects: waiting {wait:.0f}s to see whether they are still alive")
        sleep(max(0.0, wait) + 0.2)
    return end_abandoned_runs(instance, ledger)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
