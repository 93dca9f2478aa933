"""State in PostgreSQL: every host of a deployment shares it.

Tables live in their own schema (default `s3_pipelines`), created on first use, with text columns
in the "C" collation so keys and ISO 8601 instants sort by their bytes, as S3 and SQLite sort them.
A claim locks the rows it takes (`FOR UPDATE ... SKIP LOCKED`) inside a READ COMMITTED
transaction: a concurrent claimer of the same partition skips them instead of taking them twice.
Lease times come from the server's clock, so hosts with skewed clocks still agree on expiry.

One connection per process and thread, opened on first use and again after a fork or a dropped
connection (a Celery worker forks its pool after importing the code).
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg

from .base import StateConn, StateDB, StateError, iso, row_class

SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _row_factory(cursor):
    names = [c.name for c in cursor.description or ()]
    cls = row_class(names)
    return lambda values: cls(values)


def _pg_sql(sql: str) -> str:
    """`?` placeholders become psycopg's `%s` (a literal `%` is doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresConn(StateConn):
    dialect = "postgres"

    def __init__(self, con: psycopg.Connection, schema: str):
        self.con, self.schema = con, schema

    def execute(self, sql, params=()):
        return self.con.execute(_pg_sql(sql), list(params) if params else None)

    def executemany(self, sql, rows):
        rows = [list(r) for r in rows]
        if rows:
            with self.con.cursor() as cur:
                cur.executemany(_pg_sql(sql), rows)

    def now(self, plus=None):
        t = self.con.execute("SELECT clock_timestamp()").fetchone()[0]
        return iso(t + plus) if plus else iso(t)

    def insert_new(self, table, columns, rows, returning, chunk=0):
        """COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING: a round trip per
        batch instead of per row, and no statement with thousands of parameters to parse."""
        if not rows:
            return []
        cols = ", ".join(columns)
        self.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _s3p_new_{table} (LIKE {table}) ON COMMIT DROP")
        with self.con.cursor() as cur:
            with cur.copy(f"COPY _s3p_new_{table} ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        out = self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _s3p_new_{table} ON CONFLICT DO NOTHING"
                               f" RETURNING {', '.join(returning)}").fetchall()
        self.con.execute(f"DELETE FROM _s3p_new_{table}")  # a second batch in the same transaction starts empty
        return [tuple(r) for r in out]

    def table_exists(self, name: str) -> bool:
        return self.con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=%s AND table_name=%s",
                                (self.schema, name)).fetchone() is not None


class PostgresState(StateDB):
    dialect = "postgres"
    errors = (psycopg.Error,)

    def __init__(self, url: str, schema: str = "s3_pipelines"):
        if not SCHEMA_RE.match(schema):
            raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
        self.url, self.schema = url, schema
        self.path = None
        self._local = threading.local()
        self._schema_made = False

    def describe(self) -> str:
        u = urlsplit(self.url)
        host = u.hostname or "localhost"
        return f"postgresql://{u.username + '@' if u.username else ''}{host}{':' + str(u.port) if u.port else ''}{u.path} (schema {self.schema})"

    def _connection(self) -> psycopg.Connection:
        con = getattr(self._local, "con", None)
        if con is not None and (con.closed or con.broken or self._local.pid != os.getpid()):
            if self._local.pid == os.getpid():
                con.close()
            con = None
        if con is None:
            try:
                con = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory,
                                      application_name="s3_pipelines")
            except psycopg.OperationalError as e:
                # the driver's message may quote the connection string: say what failed, not how
                raise StateError(f"cannot connect to the state database {self.describe()}: "
                                 f"{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}") from None
            if not self._schema_made:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                self._schema_made = True
            con.execute(f'SET search_path TO "{self.schema}"')
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None and self._local.pid == os.getpid():
            con.close()
        self._local.con = None

    @contextmanager
    def tx(self):
        con = self._connection()
        try:
            with con.transaction():
                yield PostgresConn(con, self.schema)
        except psycopg.OperationalError:
            self.close()  # a dropped connection: the next call opens a new one
            raise

    @contextmanager
    def read(self):
        con = self._connection()
        try:
            yield PostgresConn(con, self.schema)
        except psycopg.OperationalError:
            self.close()
            raise

    def lock_rows(self, alias: str) -> str:
        return f" FOR UPDATE OF {alias} SKIP LOCKED"

    def ddl(self, sql: str) -> str:
        # SQLite's INTEGER is 64-bit (object sizes pass 2 GiB); text sorts by bytes, as in SQLite
        sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
        return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', sql)

    def _migration_lock(self, db: PostgresConn) -> None:
        db.con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"s3_pipelines:{self.schema}",))
