"""Embedded state: one SQLite file in WAL mode, shared by the processes of one machine.

A write transaction is BEGIN IMMEDIATE: it takes the file's write lock up front, so a transaction
that reads and then writes (a claim) never races another one. Connections are opened per
transaction: cheap for a file, and nothing is shared across threads or a fork.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from .base import StateConn, StateDB


class SqliteConn(StateConn):
    dialect = "sqlite"

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def execute(self, sql, params=()):
        return self.con.execute(sql, params)

    def executemany(self, sql, rows):
        self.con.executemany(sql, rows)

    def table_exists(self, name: str) -> bool:
        return self.con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


class SqliteState(StateDB):
    dialect = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def tx(self):
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteConn(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()

    @contextmanager
    def read(self):
        db = self._connect()
        try:
            yield SqliteConn(db)
        finally:
            db.close()
