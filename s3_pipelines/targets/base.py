"""A SQL target (one file per kind beside this one, listed in registry.py): transactions, Arrow inserts, and the target's
own load marks, written in the same transaction as the data so each object's effect lands once.

SQL given to `Tx.execute` uses `?` placeholders on every dialect.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa

from ..objects import S3Object

LOADS_TABLE = "s3p_loads"


def qident(name: str) -> str:
    """A quoted SQL identifier (same rule on DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


class Tx(ABC):
    """One open transaction. Where dialects differ, callers ask the transaction (the hooks below)
    instead of testing which dialect it is."""

    dialect: str
    temp_table_suffix: str = ""  # appended to CREATE TEMP TABLE (e.g. PostgreSQL's ON COMMIT DROP)

    @abstractmethod
    def execute(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement; returns its rows (empty when it has none)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None: ...

    @abstractmethod
    def insert_arrow(self, table: str, data: pa.Table, columns: Sequence[str] | None = None) -> None:
        """Append an Arrow table to `table` (columns by name), vectorized."""

    @abstractmethod
    def query_arrow(self, sql: str, params: Sequence = ()) -> pa.Table: ...

    @abstractmethod
    def table_columns(self, table: str) -> dict[str, str] | None:
        """Column name -> SQL type (lower case) of an existing table, or None when it is missing."""

    # --- dialect hooks: the defaults suit a target with one writer at a time (a DuckDB file) -------

    def lock_key(self, key: str) -> None:
        """Wait until no other transaction holds `key`; held until this transaction ends."""

    def lock_table(self, table: str) -> None:
        """Writers of `table` wait for each other until this transaction ends."""

    # whether scratch tables live and die with the connection (temporary tables): a crash leaves
    # none behind, so no bookkeeping of them is needed; their work must then stay on one
    # connection (SqlTarget.session)
    scratch_is_temporary: bool = False

    def create_scratch_table(self, name: str, select_sql: str) -> None:
        """A table of the rows of `select_sql` (its columns' types, no keys) that holds work in
        progress no reader looks at, dropped when the work is published."""
        self.execute(f"CREATE TABLE {qident(name)} AS {select_sql}")

    def unique_nulls_not_distinct(self) -> bool:
        """Whether a unique index can treat NULLs as equal (NULLS NOT DISTINCT), so rollup groups
        merge by upsert on it."""
        return False

    # --- load marks: (consumer, object version) applied to this target -----------------------

    def loaded_version(self, consumer: str, bucket: str, key: str) -> str | None:
        rows = self.execute(
            f"SELECT etag FROM {LOADS_TABLE} WHERE consumer=? AND bucket=? AND key=?", (consumer, bucket, key))
        return rows[0][0] if rows else None

    def is_loaded(self, consumer: str, obj: S3Object) -> bool:
        return self.loaded_version(consumer, obj.bucket, obj.key) == obj.etag

    def mark_loaded(self, consumer: str, obj: S3Object, rows: int, run_id: str | None) -> None:
        """Record (in this transaction) that `consumer` applied this object version."""
        self.execute(f"DELETE FROM {LOADS_TABLE} WHERE consumer=? AND bucket=? AND key=?",
                     (consumer, obj.bucket, obj.key))
        self.execute(
            f"INSERT INTO {LOADS_TABLE} (consumer, bucket, key, etag, rows, run_id, loaded_at) VALUES (?,?,?,?,?,?,?)",
            (consumer, obj.bucket, obj.key, obj.etag, rows, run_id, dt.datetime.now(dt.timezone.utc)))


class SqlTarget(ABC):
    """A SQL target. `type` is the connection type it serves (`connections.<name>.type`);
    `from_connection` opens it from that connection's config. Register a new one in registry.py."""

    type: str
    dialect: str
    name: str
    single_writer: bool = False  # one writing process at a time (a DuckDB file): schedule writers in a pool of one

    @classmethod
    @abstractmethod
    def from_connection(cls, name: str, conn, cfg) -> "SqlTarget":
        """The target of connection `name` (`conn` its config model; `cfg` resolves relative paths)."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Commit on success, roll back on any exception."""

    @contextmanager
    def session(self) -> Iterator[None]:
        """Transactions of this thread inside it may share one connection (a run of many
        transactions: a partition's objects, a staged load's chunks); by default each has its own."""
        yield

    def ensure_loads_table(self) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (consumer TEXT NOT NULL, bucket TEXT NOT NULL,"
                " key TEXT NOT NULL, etag TEXT NOT NULL, rows BIGINT, run_id TEXT,"
                " loaded_at TIMESTAMP WITH TIME ZONE, PRIMARY KEY (consumer, bucket, key))")
