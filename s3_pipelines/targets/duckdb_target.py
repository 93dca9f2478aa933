"""DuckDB file target (the embedded default). DuckDB lets one process write a file at a time, so
opening retries while another process (a concurrent run, the CLI) holds it, and the dialect hooks
need no locks of their own."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .base import SqlTarget, Tx, qident

LOCK_WAIT_SECONDS = 300
# WAL size that makes a commit inside a session checkpoint (DuckDB's default is 16MB, and closing
# the last connection checkpoints too): a staged load's chunks then cost one WAL write each instead
# of a checkpoint each, and scratch tables dropped at publish are never written to the file
SESSION_CHECKPOINT_ENV, SESSION_CHECKPOINT = "S3P_DUCKDB_SESSION_CHECKPOINT", "256MB"
_held = threading.local()  # path -> the connection of this thread's open session
MEMORY_LIMIT_ENV = "S3P_DUCKDB_MEMORY_LIMIT"
MEMORY_LIMIT = "512MB"


def memory_limit() -> str:
    """DuckDB's buffer pool of a target connection (`S3P_DUCKDB_MEMORY_LIMIT`, default 512MB).
    DuckDB's default (80 % of the machine's memory) keeps the pages of every committed chunk and of
    a publish's `INSERT ... SELECT` cached: 730 MB for 1.8M staged entities against 280 MB with
    200MB (measured). Indexes (the entities' primary key) must fit in it: raise it for catalogs of
    tens of millions of entities ("Out of Memory Error")."""
    return os.environ.get(MEMORY_LIMIT_ENV) or MEMORY_LIMIT


class _DuckTx(Tx):
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def execute(self, sql, params=()):
        cur = self.con.execute(sql, list(params))
        return cur.fetchall() if cur.description else []

    def executemany(self, sql, rows):
        if rows:
            self.con.executemany(sql, [list(r) for r in rows])

    scratch_is_temporary = True

    def create_scratch_table(self, name, select_sql):
        # temporary, on the session's connection: a chunk's commit writes no WAL for it, its pages
        # spill to temp_directory beyond memory_limit, and a crash leaves nothing to drop
        self.execute(f"CREATE TEMP TABLE {qident(name)} AS {select_sql}")

    def insert_arrow(self, table, data, columns=None):
        cols = list(columns or data.column_names)
        self.con.register("_s3p_incoming", data)
        try:
            names = ", ".join(qident(c) for c in cols)
            self.con.execute(f"INSERT INTO {qident(table)} ({names}) SELECT {names} FROM _s3p_incoming")
        finally:
            self.con.unregister("_s3p_incoming")

    def query_arrow(self, sql, params=()):
        return self.con.sql(sql, params=list(params) or None).to_arrow_table()

    def table_columns(self, table):
        rows = self.con.execute(
            "SELECT column_name, lower(data_type) FROM information_schema.columns WHERE table_name=?"
            " AND table_schema=current_schema() ORDER BY ordinal_position", [table]).fetchall()
        return {n: t for n, t in rows} or None


class DuckDBTarget(SqlTarget):
    type = dialect = "duckdb"
    single_writer = True

    def __init__(self, path: str | Path, name: str = "catalog"):
        self.path, self.name = Path(path), name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ensure_loads_table()

    @classmethod
    def from_connection(cls, name, conn, cfg):
        return cls(cfg.resolve(conn.path), name=name)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), config={"memory_limit": memory_limit()})
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @contextmanager
    def session(self):
        """This thread's transactions inside share one open connection: reopening the file costs
        a checkpoint of what the last one wrote (measured: 4 s of a 1M-record load's 14 s of CPU
        went to checkpoints per chunk). Other processes wait for the file until the session ends
        (the target is single-writer anyway)."""
        cons = _held.__dict__.setdefault("cons", {})
        key = str(self.path)
        if key in cons:  # nested: the outer session holds the connection
            yield
            return
        con = self._connect()
        con.execute(f"SET checkpoint_threshold = '{os.environ.get(SESSION_CHECKPOINT_ENV) or SESSION_CHECKPOINT}'")
        cons[key] = con
        try:
            yield
        finally:
            del cons[key]
            con.close()  # checkpoints what is left in the WAL

    @contextmanager
    def transaction(self):
        held = getattr(_held, "cons", {}).get(str(self.path))
        con = held or self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            yield _DuckTx(con)
            con.execute("COMMIT")
        except BaseException as e:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if isinstance(e, duckdb.OutOfMemoryException) or (
                    isinstance(e, duckdb.Error) and "could not allocate block" in str(e)):
                raise duckdb.OutOfMemoryException(
                    f"{e}\n(catalog {self.name}: DuckDB may use {memory_limit()}; set {MEMORY_LIMIT_ENV} higher,"
                    " e.g. 2GB, for a catalog this large)") from e
            raise
        finally:
            if held is None:
                con.close()

    def __repr__(self) -> str:
        return f"DuckDBTarget({self.path})"
