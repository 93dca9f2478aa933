"""The load ledger: one row per (stream, bucket, key, etag), so an object is loaded exactly once.

Embedded SQLite in WAL mode: several processes (sensor daemon, run workers, the CLI) share it, and
claims are single UPDATE statements, so two runs of one partition never load the same object.
A claim is held under its run's lease: the run renews it while it works (`hold_lease`), and a
claim whose lease expired (the process was killed, crashed or lost its host) is taken over by the
next run. Nothing here looks at processes, so it works the same across hosts.

Object life: pending -> loading -> loaded | skipped | failed; a newer ETag of the same key makes
the older loaded row `superseded` (its staged files are replaced); `changed` marks a version that
vanished between listing and reading.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .objects import S3Object

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    size INTEGER NOT NULL, last_modified TEXT NOT NULL, partition_key TEXT NOT NULL,
    status TEXT NOT NULL, rows INTEGER, bad_rows INTEGER,
    discovered_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    run_id TEXT, staged TEXT, error TEXT,
    PRIMARY KEY (stream, bucket, key, etag)
);
CREATE INDEX IF NOT EXISTS objects_by_partition ON objects (stream, partition_key, status);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects (stream, bucket, key);
CREATE TABLE IF NOT EXISTS bad_records (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    line INTEGER, reason TEXT NOT NULL, run_id TEXT, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bad_by_object ON bad_records (stream, bucket, key, etag);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, cursor TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partition_runs (
    stream TEXT NOT NULL, partition_key TEXT NOT NULL, run_id TEXT NOT NULL, started_at TEXT NOT NULL,
    PRIMARY KEY (stream, partition_key)
);
CREATE TABLE IF NOT EXISTS leases (run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL);
"""

TERMINAL = ("loaded", "skipped", "failed", "superseded", "changed")
MAX_BAD_RECORDS_KEPT = 100  # per object version; the count is always exact in objects.bad_rows
LEASE = dt.timedelta(seconds=10)  # a run that has not renewed its lease for this long is gone


def _now(plus: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.timezone.utc) + plus).isoformat(timespec="milliseconds")


def _holder() -> str:
    """Who holds a lease, for people reading the ledger; never used to decide anything."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LedgerRow:
    stream: str
    obj: S3Object
    partition_key: str
    status: str
    rows: int | None
    bad_rows: int | None
    run_id: str | None
    staged: list[str]
    error: str | None
    started_at: str | None = None
    finished_at: str | None = None


class Ledger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def _tx(self):
        """BEGIN IMMEDIATE takes the write lock up front, so read-then-write never races."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # --- discovery ---------------------------------------------------------------------------

    def register(self, stream: str, objects: Iterable[S3Object], partition_of: Callable[[S3Object], str]) -> list[S3Object]:
        """Record discovered objects as pending; return the ones the ledger had not seen
        (a new key, or a known key with a new ETag)."""
        new: list[S3Object] = []
        now = _now()
        with self._tx() as db:
            for o in objects:
                cur = db.execute(
                    "INSERT OR IGNORE INTO objects (stream, bucket, key, etag, size, last_modified,"
                    " partition_key, status, discovered_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (stream, o.bucket, o.key, o.etag, o.size, o.last_modified.isoformat(), partition_of(o), "pending", now),
                )
                if cur.rowcount:
                    new.append(o)
        return new

    def claim(self, stream: str, partition_key: str, run_id: str, *, retry_failed: bool = False,
              is_stale: Callable[[str], bool] | None = None, lease: dt.timedelta = LEASE) -> list[S3Object]:
        """Take the pending objects of a partition for this run, under its lease. Objects held by
        another run are taken over when that run's lease expired or `is_stale(run_id)` says the run
        is over (Dagster's run status, passed in by the Dagster layer)."""
        statuses = ["pending"] + (["failed"] if retry_failed else [])
        now = _now()
        with self._tx() as db:
            self._renew(db, run_id, lease)
            rows = db.execute(
                f"SELECT o.*, l.expires_at FROM objects o LEFT JOIN leases l ON l.run_id = o.run_id"
                f" WHERE o.stream=? AND o.partition_key=? AND (o.status IN ({','.join('?' * len(statuses))})"
                " OR (o.status='loading' AND o.run_id IS NOT ? ))",
                (stream, partition_key, *statuses, run_id),
            ).fetchall()
            claimed = []
            for r in rows:
                if r["status"] == "loading" and (r["expires_at"] or "") > now and not (is_stale and is_stale(r["run_id"])):
                    continue  # its run still renews its lease and is not known to be over
                db.execute(
                    "UPDATE objects SET status='loading', run_id=?, started_at=?, error=NULL"
                    " WHERE stream=? AND bucket=? AND key=? AND etag=?",
                    (run_id, now, stream, r["bucket"], r["key"], r["etag"]),
                )
                claimed.append(_obj(r))
        return claimed

    # --- leases: a run's claims live as long as it keeps renewing -----------------------------

    @staticmethod
    def _renew(db: sqlite3.Connection, run_id: str, lease: dt.timedelta) -> None:
        db.execute(
            "INSERT INTO leases VALUES (?,?,?) ON CONFLICT(run_id) DO UPDATE SET holder=excluded.holder,"
            " expires_at=excluded.expires_at", (run_id, _holder(), _now(lease)))

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
        return r is None or r[0] <= _now()

    def expired_leases(self) -> list[str]:
        """Runs whose lease ran out without being ended: they stopped without saying so."""
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT run_id FROM leases WHERE expires_at <= ? ORDER BY 1", (_now(),))]

    def lease_expiry(self, run_ids: Iterable[str]) -> dict[str, str]:
        """run -> when its lease runs out (ISO 8601 UTC), for the runs holding one."""
        ids = list(run_ids)
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
                except sqlite3.Error:
                    pass  # the next beat tries again; a lease only lapses after three missed beats

        beat = threading.Thread(target=renew, name=f"lease-{run_id[:8]}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()

    # --- results -----------------------------------------------------------------------------

    def finish(self, stream: str, obj: S3Object, *, status: str, rows: int = 0, bad_rows: int = 0,
               staged: list[str] | None = None, error: str | None = None, run_id: str | None = None) -> list[str]:
        """Close one object version. When it loaded, older loaded versions of the same key become
        superseded; their staged files are returned so the caller removes them."""
        assert status in TERMINAL, status
        now = _now()
        with self._tx() as db:
            db.execute(
                "UPDATE objects SET status=?, rows=?, bad_rows=?, staged=?, error=?, finished_at=?,"
                " run_id=COALESCE(?, run_id) WHERE stream=? AND bucket=? AND key=? AND etag=?",
                (status, rows, bad_rows, "\n".join(staged or []), error, now, run_id,
                 stream, obj.bucket, obj.key, obj.etag),
            )
            if status != "loaded":
                return []
            old = db.execute(
                "SELECT etag, staged FROM objects WHERE stream=? AND bucket=? AND key=? AND etag<>?"
                " AND status='loaded'",
                (stream, obj.bucket, obj.key, obj.etag),
            ).fetchall()
            db.execute(
                "UPDATE objects SET status='superseded', finished_at=? WHERE stream=? AND bucket=? AND key=?"
                " AND etag<>? AND status IN ('loaded','pending')",
                (now, stream, obj.bucket, obj.key, obj.etag),
            )
        keep = set(staged or [])
        return [f for r in old for f in (r["staged"] or "").split("\n") if f and f not in keep]

    def release(self, stream: str, objects: Iterable[S3Object], run_id: str) -> None:
        """Give back claimed objects this run did not get to (e.g. the run was stopped)."""
        with self._tx() as db:
            for o in objects:
                db.execute(
                    "UPDATE objects SET status='pending', run_id=NULL WHERE stream=? AND bucket=? AND key=?"
                    " AND etag=? AND status='loading' AND run_id=?",
                    (stream, o.bucket, o.key, o.etag, run_id),
                )

    def add_bad_records(self, stream: str, obj: S3Object, bad: Iterable[tuple[int | None, str]], run_id: str | None) -> None:
        now = _now()
        with self._tx() as db:
            db.execute(
                "DELETE FROM bad_records WHERE stream=? AND bucket=? AND key=? AND etag=?",
                (stream, obj.bucket, obj.key, obj.etag),
            )
            db.executemany(
                "INSERT INTO bad_records VALUES (?,?,?,?,?,?,?,?)",
                [(stream, obj.bucket, obj.key, obj.etag, line, reason, run_id, now)
                 for line, reason in list(bad)[:MAX_BAD_RECORDS_KEPT]],
            )

    # --- reading -----------------------------------------------------------------------------

    def rows(self, stream: str, partition_key: str | None = None, status: str | None = None) -> list[LedgerRow]:
        sql, args = "SELECT * FROM objects WHERE stream=?", [stream]
        if partition_key is not None:
            sql, args = sql + " AND partition_key=?", args + [partition_key]
        if status is not None:
            sql, args = sql + " AND status=?", args + [status]
        with self._connect() as db:
            return [_row(r) for r in db.execute(sql + " ORDER BY key, discovered_at", args)]

    def bad_records(self, stream: str, partition_key: str | None = None, limit: int = 100) -> list[dict]:
        sql = (
            "SELECT b.key, b.etag, b.line, b.reason FROM bad_records b JOIN objects o USING (stream, bucket, key, etag)"
            " WHERE b.stream=?"
        )
        args: list = [stream]
        if partition_key is not None:
            sql, args = sql + " AND o.partition_key=?", args + [partition_key]
        with self._connect() as db:
            return [dict(r) for r in db.execute(sql + " ORDER BY b.key, b.line LIMIT ?", args + [limit])]

    def partitions(self, stream: str) -> list[dict]:
        """Per partition: object counts by status, for the CLI and README ('which key do I pass?')."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT partition_key, status, COUNT(*) AS n, COALESCE(SUM(rows),0) AS rows FROM objects"
                " WHERE stream=? GROUP BY partition_key, status ORDER BY partition_key",
                (stream,),
            ).fetchall()
        out: dict[str, dict] = {}
        for r in rows:
            d = out.setdefault(r["partition_key"], {"partition": r["partition_key"], "rows": 0})
            d[r["status"]] = r["n"]
            d["rows"] += r["rows"] if r["status"] == "loaded" else 0
        return list(out.values())

    def pending_partitions(self, stream: str) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute(
                "SELECT DISTINCT partition_key FROM objects WHERE stream=? AND status='pending' ORDER BY 1", (stream,)
            )]

    def stale_pending_partitions(self, stream: str, older_than: dt.timedelta) -> list[str]:
        """Partitions whose pending objects have waited longer than `older_than`: their run
        failed before claiming them, or gave them back; the sensor asks for another run."""
        cutoff = (dt.datetime.now(dt.timezone.utc) - older_than).isoformat(timespec="milliseconds")
        with self._connect() as db:
            return [r[0] for r in db.execute(
                "SELECT DISTINCT partition_key FROM objects WHERE stream=? AND status='pending'"
                " AND discovered_at < ? ORDER BY 1", (stream, cutoff))]

    # --- partition runs that have not finished well ---------------------------------------------
    # A run opens its partition when it starts loading and closes it once the whole run (records
    # and everything downstream) succeeded. An open partition whose run is over (crashed, killed,
    # failed) needs another run, even with no pending object left: its objects may be loaded but
    # not yet applied to the catalog or tables.

    def open_partition_run(self, stream: str, partition_key: str, run_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO partition_runs VALUES (?,?,?,?) ON CONFLICT(stream, partition_key) DO UPDATE"
                " SET run_id=excluded.run_id, started_at=excluded.started_at",
                (stream, partition_key, run_id, _now()),
            )

    def close_partition_run(self, stream: str, partition_key: str, run_id: str) -> None:
        """Only the run that opened it last closes it (a later run may have reopened it)."""
        with self._tx() as db:
            db.execute("DELETE FROM partition_runs WHERE stream=? AND partition_key=? AND run_id=?",
                       (stream, partition_key, run_id))

    def open_partition_runs(self, stream: str) -> dict[str, str]:
        """partition -> the run that opened it, for the partitions not closed yet."""
        with self._connect() as db:
            return {r[0]: r[1] for r in db.execute(
                "SELECT partition_key, run_id FROM partition_runs WHERE stream=? ORDER BY 1", (stream,))}

    # --- cursors of discovery outside sensors (the `run` command) -----------------------------

    def get_cursor(self, name: str) -> str | None:
        with self._connect() as db:
            r = db.execute("SELECT cursor FROM cursors WHERE name=?", (name,)).fetchone()
        return r[0] if r else None

    def set_cursor(self, name: str, cursor: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO cursors VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET cursor=excluded.cursor,"
                " updated_at=excluded.updated_at",
                (name, cursor, _now()),
            )


def _obj(r: sqlite3.Row) -> S3Object:
    return S3Object(r["bucket"], r["key"], r["etag"], r["size"], dt.datetime.fromisoformat(r["last_modified"]))


def _row(r: sqlite3.Row) -> LedgerRow:
    return LedgerRow(
        stream=r["stream"], obj=_obj(r), partition_key=r["partition_key"], status=r["status"],
        rows=r["rows"], bad_rows=r["bad_rows"], run_id=r["run_id"],
        staged=[f for f in (r["staged"] or "").split("\n") if f], error=r["error"],
        started_at=r["started_at"], finished_at=r["finished_at"],
    )
