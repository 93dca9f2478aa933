"""The record of written destination objects, beside the load ledger (same SQLite file).

`record_load(db, result)` inserts the objects a load wrote and marks its inputs done for the
destination, inside the caller's transaction — so both happen or neither: a process killed after
the upload and before the commit re-runs the load, writes the same bytes to the same keys (a no-op)
and records them then. `transaction(path)` opens one on the ledger's file (`Ledger.path`)."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from typing import Iterable, Iterator

from ...ledger import Ledger
from ...state import StateConn
from .destination import LoadResult, WrittenObject

SCHEMA = """
CREATE TABLE IF NOT EXISTS destination_objects (
    destination TEXT NOT NULL, key TEXT NOT NULL, window_start TEXT NOT NULL, etag TEXT NOT NULL,
    rows INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, inputs TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (destination, key)
);
CREATE TABLE IF NOT EXISTS destination_inputs (
    destination TEXT NOT NULL, input TEXT NOT NULL, done_at TEXT NOT NULL,
    PRIMARY KEY (destination, input)
);
"""


def ensure_schema(db: StateConn) -> None:
    for statement in filter(str.strip, SCHEMA.split(";")):
        db.execute(statement)


@contextmanager
def transaction(where) -> Iterator[StateConn]:
    """A write transaction beside the load ledger: `where` is the `Ledger` (its state database,
    SQLite or PostgreSQL: s3_pipelines.state) or the path of a SQLite ledger file (BEGIN IMMEDIATE).
    COMMIT on success, ROLLBACK on any error (the state database's own transaction)."""
    ledger = where if hasattr(where, "transaction") else Ledger(where)
    with ledger.transaction() as db:
        ensure_schema(db)
        yield db


def record_load(db: StateConn, result: LoadResult) -> None:
    """Insert the written objects and mark every input of the load done (idempotent)."""
    ensure_schema(db)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    db.executemany(
        "INSERT INTO destination_objects VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(destination, key) DO NOTHING",
        [(o.destination, o.key, o.window_start.isoformat(), o.etag, o.rows, o.bytes, o.sha256,
          json.dumps(list(o.inputs)), now) for o in result.objects])
    mark_inputs_done(db, result.destination, result.inputs, now)


def mark_inputs_done(db: StateConn, destination: str, inputs: Iterable[str], now: str | None = None) -> None:
    now = now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    db.executemany("INSERT INTO destination_inputs VALUES (?,?,?) ON CONFLICT(destination, input) DO NOTHING",
                   [(destination, i, now) for i in inputs])


def inputs_done(db: StateConn, destination: str, inputs: Iterable[str]) -> set[str]:
    ids = list(inputs)
    if not ids:
        return set()
    ensure_schema(db)
    rows = db.execute(f"SELECT input FROM destination_inputs WHERE destination=? AND input IN ({','.join('?' * len(ids))})",
                      [destination, *ids])
    return {r[0] for r in rows}


def written_objects(db: StateConn, destination: str) -> list[WrittenObject]:
    ensure_schema(db)
    rows = db.execute("SELECT key, window_start, etag, rows, bytes, sha256, inputs FROM destination_objects"
                      " WHERE destination=? ORDER BY window_start, key", (destination,))
    return [WrittenObject(destination, dt.datetime.fromisoformat(w), k, e, r, b, s, tuple(json.loads(i)), True)
            for k, w, e, r, b, s, i in rows]
