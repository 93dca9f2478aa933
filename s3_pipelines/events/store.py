"""The ledger's tables of events, through the ledger's own connections (`Ledger.transaction` / `_connect`),
in SQL that SQLite and PostgreSQL both run.

- `event_receipts`: messages received and registered, deleted from the queue by the next tick of the
  sensor, once Dagster has stored this tick's run requests (it writes the cursor with them);
- `event_dead_letters`: messages that cannot be read, and objects outside every stream;
- `removals`: the audit of what a removed object's `on_remove` did.
"""

from __future__ import annotations

import datetime as dt

from ..ledger import Ledger, LedgerRow, _row
from ..state import Migration

MIGRATIONS = [Migration(1, "event receipts, dead letters, removals", """
CREATE TABLE IF NOT EXISTS event_receipts (queue TEXT NOT NULL, message_id TEXT NOT NULL, receipt TEXT NOT NULL,
    tick INTEGER NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (queue, message_id));
CREATE TABLE IF NOT EXISTS event_dead_letters (queue TEXT NOT NULL, message_id TEXT NOT NULL, reason TEXT NOT NULL,
    body TEXT, at TEXT NOT NULL, PRIMARY KEY (queue, message_id, reason));
CREATE TABLE IF NOT EXISTS removals (stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
    etag TEXT NOT NULL, action TEXT NOT NULL, detail TEXT, at TEXT NOT NULL)
""")]
LIVE = ("pending", "loading", "loaded", "skipped", "failed")  # versions S3 still had when last seen


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class EventStore:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        ledger.db.migrate("events", MIGRATIONS)

    # --- receipts: delete a message only after its run requests are stored -------------------

    def keep_receipts(self, queue: str, tick: int, messages: list[tuple[str, str]]) -> None:
        now = _now()
        with self.ledger.transaction() as db:
            for message_id, receipt in messages:
                db.execute("INSERT INTO event_receipts VALUES (?,?,?,?,?) ON CONFLICT (queue, message_id)"
                           " DO UPDATE SET receipt=excluded.receipt, tick=excluded.tick",
                           (queue, message_id, receipt, tick, now))

    def receipts(self, queue: str, up_to_tick: int) -> list[tuple[str, str]]:
        with self.ledger._connect() as db:
            return [(r[0], r[1]) for r in db.execute(
                "SELECT message_id, receipt FROM event_receipts WHERE queue=? AND tick<=? ORDER BY 1",
                (queue, up_to_tick))]

    def forget_receipts(self, queue: str, message_ids: list[str]) -> None:
        with self.ledger.transaction() as db:
            for m in message_ids:
                db.execute("DELETE FROM event_receipts WHERE queue=? AND message_id=?", (queue, m))

    # --- dead letters --------------------------------------------------------------------------

    def dead_letter(self, queue: str, message_id: str, reason: str, body: str | None) -> bool:
        """Record one; False when this message was recorded for this reason before."""
        with self.ledger.transaction() as db:
            cur = db.execute("INSERT INTO event_dead_letters VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                             (queue, message_id, reason[:1000], (body or "")[:2000], _now()))
            return bool(cur.rowcount)

    def dead_letters(self, queue: str, limit: int = 20) -> tuple[int, list[dict]]:
        with self.ledger._connect() as db:
            n = db.execute("SELECT COUNT(*) FROM event_dead_letters WHERE queue=?", (queue,)).fetchone()[0]
            rows = db.execute("SELECT message_id, reason, at FROM event_dead_letters WHERE queue=?"
                              " ORDER BY at DESC LIMIT ?", (queue, limit)).fetchall()
        return n, [{"message_id": r[0], "reason": r[1], "at": r[2]} for r in rows]

    # --- removals ------------------------------------------------------------------------------

    def mark_removed(self, stream: str, bucket: str, key: str, *, modified_before: dt.datetime | None = None,
                     discovered_before: str | None = None) -> list[LedgerRow]:
        """Live versions of a key become `removed`; returns them as they were. `modified_before`
        (the delete event's time) spares a version written after the delete; `discovered_before`
        (when a reconciling listing started) spares one registered while it listed."""
        sql = (f"SELECT * FROM objects WHERE stream=? AND bucket=? AND key=? AND status IN ({','.join('?' * len(LIVE))})")
        args: list = [stream, bucket, key, *LIVE]
        if discovered_before is not None:
            sql, args = sql + " AND discovered_at < ?", args + [discovered_before]
        now = _now()
        with self.ledger.transaction() as db:
            rows = [_row(r) for r in db.execute(sql, args).fetchall()]
            if modified_before is not None:
                rows = [r for r in rows if r.obj.last_modified <= modified_before]
            for r in rows:
                db.execute("UPDATE objects SET status='removed', finished_at=? WHERE stream=? AND bucket=? AND key=?"
                           " AND etag=?", (now, stream, bucket, key, r.obj.etag))
        return rows

    def revive(self, stream: str, obj, created_after_removal: bool = True) -> bool:
        """A version marked removed that is there again (deleted, then written with the same bytes,
        so the same ETag): pending once more. For an event, only when it is newer than the removal
        (`obj.last_modified` after the row's `finished_at`); a listing sees the object, so always."""
        sql = ("UPDATE objects SET status='pending', run_id=NULL, finished_at=NULL, error=NULL WHERE stream=?"
               " AND bucket=? AND key=? AND etag=? AND status='removed'")
        args: list = [stream, obj.bucket, obj.key, obj.etag]
        if created_after_removal:
            sql, args = sql + " AND finished_at < ?", args + [obj.last_modified.astimezone(dt.timezone.utc)
                                                              .isoformat(timespec="milliseconds")]
        with self.ledger.transaction() as db:
            return bool(db.execute(sql, args).rowcount)

    def live_keys(self, stream: str) -> set[tuple[str, str]]:
        """(bucket, key) of every object the ledger believes is still in S3."""
        with self.ledger._connect() as db:
            return {(r[0], r[1]) for r in db.execute(
                f"SELECT DISTINCT bucket, key FROM objects WHERE stream=? AND status IN ({','.join('?' * len(LIVE))})",
                (stream, *LIVE))}

    def audit_removal(self, stream: str, row: LedgerRow, action: str, detail: str) -> None:
        with self.ledger.transaction() as db:
            db.execute("INSERT INTO removals VALUES (?,?,?,?,?,?,?)",
                       (stream, row.obj.bucket, row.obj.key, row.obj.etag, action, detail, _now()))

    def removals(self, stream: str) -> list[dict]:
        with self.ledger._connect() as db:
            return [{"key": r[0], "etag": r[1], "action": r[2], "detail": r[3], "at": r[4]} for r in db.execute(
                "SELECT key, etag, action, detail, at FROM removals WHERE stream=? ORDER BY at, key", (stream,))]
