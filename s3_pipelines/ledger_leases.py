"""The load ledger's leases: a run's claims live as long as it keeps renewing its lease (see
`s3_pipelines.ledger`); a run that stopped renewing is gone, on whatever host it ran."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Iterable
from contextlib import contextmanager

from .state import StateConn

LEASE = dt.timedelta(seconds=10)  # a run that has not renewed its lease for this long is gone


def _holder() -> str:
    """Who holds a lease, for people reading the ledger; never used to decide anything."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """The lease half of `Ledger` (it provides `_tx` and `_connect`)."""


    @staticmethod
    def _renew(db: StateConn, run_id: str, lease: dt.timedelta) -> None:
        db.execute(
            "INSERT INTO leases VALUES (?,?,?) ON CONFLICT(run_id) DO UPDATE SET holder=excluded.holder,"
            " expires_at=excluded.expires_at", (run_id, _holder(), db.now(lease)))

    def renew_lease(self, run_id: str, lease: dt.timedelta = LEASE) -> None:
        with self._tx() as db:
            self._renew(db, run_id, lease)

    def end_lease(self, run_id: str) -> None:
        """The run is over (finished, or known dead): its claims may be taken over at once."""
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE run_id=?", (run_id,))

    def lease_expired(self, run_id: str) -> bool:
        """True when the run holds no lease, or did not renew it in time."""
        with self._connect() as db:
            r = db.execute("SELECT expires_at FROM leases WHERE run_id=?", (run_id,)).fetchone()
            return r is None or r[0] <= db.now()

    def expired_leases(self) -> list[str]:
        """Runs whose lease ran out without being ended: they stopped without saying so."""
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT run_id FROM leases WHERE expires_at <= ? ORDER BY 1", (db.now(),))]

    def lease_expiry(self, run_ids: Iterable[str]) -> dict[str, str]:
        """run -> when its lease runs out (ISO 8601 UTC), for the runs holding one."""
        ids = list(run_ids)
        if not ids:
            return {}
        with self._connect() as db:
            return {r[0]: r[1] for r in db.execute(
                f"SELECT run_id, expires_at FROM leases WHERE run_id IN ({','.join('?' * len(ids))})", ids)}

    def loading_runs(self, stream: str) -> set[str]:
        """Runs holding claims (objects in `loading`) in this stream."""
        with self._connect() as db:
            return {r[0] for r in db.execute(
                "SELECT DISTINCT run_id FROM objects WHERE stream=? AND status='loading'", (stream,))}

    @contextmanager
    def hold_lease(self, run_id: str, lease: dt.timedelta = LEASE):
        """Renew the run's lease in the background while the block runs (every third of the lease)."""
        self.renew_lease(run_id, lease)
        stop = threading.Event()

        def renew():
            while not stop.wait(lease.total_seconds() / 3):
                try:
                    self.renew_lease(run_id, lease)
                except Exception:  # noqa: BLE001 — a locked file, a dropped connection
                    pass  # the next beat tries again; a lease only lapses after three missed beats

        beat = threading.Thread(target=renew, name=f"lease-{run_id[:8]}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
