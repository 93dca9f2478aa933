"""Reading a state database that may not exist, without creating it or anything in it.

`StateDB` creates what it opens (the SQLite file and its folder, the PostgreSQL schema): right for
the engine, wrong where building definitions or a read-only command only looks. `read_existing`
yields a `StateConn` on a read-only connection, or None when there is no database yet.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .sqlite import SqliteConn

TIMEOUT_SECONDS = 5  # a state server that does not answer must not hold a code location's load for long


@contextmanager
def read_existing(target, *, schema: str | None = None) -> Iterator[SqliteConn | None]:
    """`target`: a SQLite file path, `sqlite:///path` or `postgresql://...` (tables in `schema`)."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        with _postgres(text, schema or "s3_pipelines") as conn:
            yield conn
        return
    path = Path(text.split("://", 1)[1].removeprefix("/") if text.startswith("sqlite://") else text)
    if not path.is_file():
        yield None
        return
    # mode=ro: no write, not even the WAL mode switch that StateDB does on open
    con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=TIMEOUT_SECONDS)
    con.row_factory = sqlite3.Row
    try:
        yield SqliteConn(con)
    finally:
        con.close()


@contextmanager
def _postgres(url: str, schema: str):
    import psycopg

    from .postgres import SCHEMA_RE, PostgresConn

    if not SCHEMA_RE.match(schema):
        raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
    con = psycopg.connect(url, autocommit=True, connect_timeout=TIMEOUT_SECONDS, application_name="s3_pipelines")
    try:
        # the session can only read, and a slow statement is cut short: this is a look, not work
        con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        con.execute(f"SET statement_timeout = {TIMEOUT_SECONDS * 1000}")
        con.execute(f'SET search_path TO "{schema}"')
        yield PostgresConn(con, schema)
    finally:
        con.close()
