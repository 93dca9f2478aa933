"""The load ledger: one row per (stream, bucket, key, etag), so an object is loaded exactly once.

Its tables live in the state database (`s3_pipelines.state`): an embedded SQLite file by default,
which the processes of one machine share, or PostgreSQL, which every host of a deployment shares.
A claim reads and takes a partition's objects in one transaction that excludes other claimers
(SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED), so two runs of one partition never
load the same object.
A claim is held under its run's lease: the run renews it while it works (`hold_lease`), and a
claim whose lease expired (the process was killed, crashed or lost its host) is taken over by the
next run. Nothing here looks at processes, so it works the same across hosts.

Object life: pending -> loading -> loaded | skipped | failed; a newer ETag of the same key makes
the older loaded row `superseded` (its staged files are replaced); `changed` marks a version that
vanished between listing and reading; `removed` an object deleted from S3 (s3_pipelines.events).
A failed version counts its attempts and may carry the time its retry is due (`retry_at`); a claim
takes it again then, or at once when asked (`retry_failed`); a newer version supersedes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import state
from .ledger_leases import LEASE, Leases
from .ledger_schema import MIGRATIONS, unversioned_version
from .objects import S3Object

TERMINAL = ("loaded", "skipped", "failed", "superseded", "changed", "removed")
MAX_BAD_RECORDS_KEPT = 100  # per object version; the count is always exact in objects.bad_rows


def _now(plus: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.timezone.utc) + plus).isoformat(timespec="milliseconds")


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
    attempts: int = 0  # failed reads of this version
    retry_at: str | None = None  # when a failed version may be claimed again without being asked


class Ledger(Leases):
    def __init__(self, path: str | Path, *, schema: str | None = None):
        """`path`: a SQLite file, or a state database URL (`postgresql://...`, tables in `schema`)."""
        self.db = state.connect(path, schema=schema)
        self.path = self.db.path  # the SQLite file; None for a server
        self.db.migrate("ledger", MIGRATIONS, baseline=unversioned_version)

    @classmethod
    def from_config(cls, cfg) -> "Ledger":
        """The ledger of a pipelines file: in its state database, else the SQLite file beside it."""
        target, schema = cfg.state_target()
        return cls(target, schema=schema)

    def _connect(self):
        """Reads (autocommit)."""
        return self.db.read()

    def _tx(self):
        """A write transaction that excludes other writers where it must (see `claim`)."""
        return self.db.tx()

    def transaction(self):
        """A write transaction on the state database, for tables kept beside the ledger (portable
        SQL: `?` placeholders, ON CONFLICT, RETURNING; see s3_pipelines.state)."""
        return self.db.tx()

    def now(self) -> str:
        """The state database's clock (lease expiry is measured by it), ISO 8601 UTC."""
        with self._connect() as db:
            return db.now()

    # --- discovery ---------------------------------------------------------------------------

    def register(self, stream: str, objects: Iterable[S3Object], partition_of: Callable[[S3Object], str]) -> list[S3Object]:
        """Record discovered objects as pending; return the ones the ledger had not seen
        (a new key, or a known key with a new ETag)."""
        objects = list(objects)
        with self._tx() as db:
            now = db.now()
            inserted = set(db.insert_new(
                "objects", ("stream", "bucket", "key", "etag", "size", "last_modified", "partition_key", "status",
                            "discovered_at"),
                [(stream, o.bucket, o.key, o.etag, o.size, o.last_modified.isoformat(), partition_of(o), "pending", now)
                 for o in objects],
                returning=("bucket", "key", "etag")))
            # an older version that could not be read is replaced by this one: never retried again
            db.executemany(
                "UPDATE objects SET status='superseded', retry_at=NULL WHERE stream=? AND bucket=? AND key=?"
                " AND etag<>? AND status='failed' AND last_modified<=?",
                [(stream, o.bucket, o.key, o.etag, o.last_modified.isoformat()) for o in objects
                 if (o.bucket, o.key, o.etag) in inserted])
        new: list[S3Object] = []
        for o in objects:  # in the order given, each version once
            if (o.bucket, o.key, o.etag) in inserted:
                inserted.discard((o.bucket, o.key, o.etag))
                new.append(o)
        return new

    def claim(self, stream: str, partition_key: str, run_id: str, *, retry_failed: bool = False,
              is_stale: Callable[[str], bool] | None = None, lease: dt.timedelta = LEASE,
              retake_own: bool = False) -> list[S3Object]:
        """Take the pending objects of a partition for this run, under its lease. Objects held by
        another run are taken over when that run's lease expired or `is_stale(run_id)` says the run
        is over (Dagster's run status, passed in by the Dagster layer). With `retake_own`, objects
        this same run left loading are taken back too: the caller claims once per attempt of its
        step, so they belong to an earlier attempt that died with its process (a killed Celery
        worker's task is delivered again to another worker, under the same run). Failed objects
        are taken when their retry is due, or all of them with `retry_failed`."""
        statuses = ["pending"] + (["failed"] if retry_failed else [])
        with self._tx() as db:
            now = db.now()
            self._renew(db, run_id, lease)
            # the rows read are this transaction's alone until it commits (lock_rows)
            rows = db.execute(
                f"SELECT o.* FROM objects o"
                f" WHERE o.stream=? AND o.partition_key=? AND (o.status IN ({','.join('?' * len(statuses))})"
                " OR (o.status='failed' AND o.retry_at <= ?)"
                " OR (o.status='loading' AND (o.run_id IS NULL OR o.run_id <> ? OR ?)))" + self.db.lock_rows("o"),
                (stream, partition_key, *statuses, now, run_id, retake_own),
            ).fetchall()
            # leases read again in a statement of their own: on PostgreSQL a row another claimer
            # just took comes back in its new version, but the join saw leases as of this
            # statement's start, which may predate that claimer's (new) lease
            held = {r["run_id"] for r in rows if r["status"] == "loading" and r["run_id"] != run_id}
            expiry = {x["run_id"]: x["expires_at"] for x in db.execute(
                f"SELECT run_id, expires_at FROM leases WHERE run_id IN ({','.join('?' * len(held))})",
                tuple(held)).fetchall()} if held else {}
            claimed = []
            for r in rows:
                if r["status"] == "loading" and r["run_id"] != run_id and (expiry.get(r["run_id"]) or "") > now \
                        and not (is_stale and is_stale(r["run_id"])):
                    continue  # its run still renews its lease and is not known to be over
                claimed.append(r)
            db.executemany(  # one batch (a server gets them in one pipeline, not a round trip each)
                "UPDATE objects SET status='loading', run_id=?, started_at=?, error=NULL"
                " WHERE stream=? AND bucket=? AND key=? AND etag=?",
                [(run_id, now, stream, r["bucket"], r["key"], r["etag"]) for r in claimed])
        return [_obj(r) for r in claimed]

    # --- results -----------------------------------------------------------------------------

    def finish(self, stream: str, obj: S3Object, *, status: str, rows: int = 0, bad_rows: int = 0,
               staged: list[str] | None = None, error: str | None = None, run_id: str | None = None,
               retry_after: Callable[[int], dt.timedelta | None] | None = None) -> list[str]:
        """Close one object version. When it loaded, older loaded versions of the same key become
        superseded; their staged files are returned so the caller removes them. When it failed, its
        attempts grow and `retry_after(attempts)` says when it is due again (None: not by itself)."""
        assert status in TERMINAL, status
        now = _now()
        where = (stream, obj.bucket, obj.key, obj.etag)
        with self._tx() as db:
            retry_at, tried = None, 0
            if status == "failed":
                tried = 1
                r = db.execute("SELECT attempts FROM objects WHERE stream=? AND bucket=? AND key=? AND etag=?",
                               where).fetchone()
                delay = retry_after(((r[0] or 0) if r else 0) + 1) if retry_after else None
                retry_at = db.now(delay) if delay is not None else None
            db.execute(
                "UPDATE objects SET status=?, rows=?, bad_rows=?, staged=?, error=?, finished_at=?,"
                " run_id=COALESCE(?, run_id), attempts=COALESCE(attempts, 0)+?, retry_at=?"
                " WHERE stream=? AND bucket=? AND key=? AND etag=?",
                (status, rows, bad_rows, "\n".join(staged or []), error, now, run_id, tried, retry_at, *where),
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

    def pending_partitions(self, stream: str, status: str = "pending") -> list[str]:
        """Partitions holding objects in `status` (pending; failed ones for the `run` command)."""
        with self._connect() as db:
            return [r[0] for r in db.execute(
                "SELECT DISTINCT partition_key FROM objects WHERE stream=? AND status=? ORDER BY 1", (stream, status)
            )]

    def due_retries(self, stream: str) -> dict[str, list[tuple[str, str, int]]]:
        """partition -> (key, etag, attempts) of its failed objects whose retry is due."""
        with self._connect() as db:
            rows = db.execute("SELECT partition_key, key, etag, attempts FROM objects WHERE stream=? AND status='failed'"
                              " AND retry_at <= ? ORDER BY 1, 2, 3", (stream, db.now())).fetchall()
        due: dict[str, list[tuple[str, str, int]]] = {}
        for r in rows:
            due.setdefault(r[0], []).append((r[1], r[2], r[3]))
        return due

    def stale_pending_partitions(self, stream: str, older_than: dt.timedelta) -> list[str]:
        """Partitions whose pending objects have waited longer than `older_than`: their run
        failed before claiming them, or gave them back; the sensor asks for another run."""
        with self._connect() as db:
            cutoff = db.now(-older_than)
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


def _obj(r) -> S3Object:
    return S3Object(r["bucket"], r["key"], r["etag"], r["size"], dt.datetime.fromisoformat(r["last_modified"]))


def _row(r) -> LedgerRow:
    return LedgerRow(
        stream=r["stream"], obj=_obj(r), partition_key=r["partition_key"], status=r["status"],
        rows=r["rows"], bad_rows=r["bad_rows"], run_id=r["run_id"],
        staged=[f for f in (r["staged"] or "").split("\n") if f], error=r["error"],
        started_at=r["started_at"], finished_at=r["finished_at"], attempts=r["attempts"] or 0, retry_at=r["retry_at"],
    )
