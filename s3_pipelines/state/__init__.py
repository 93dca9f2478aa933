"""Where the engine's state lives: an embedded SQLite file (default) or a PostgreSQL database.

`connect(target)` takes a file path, `sqlite:///path`, or `postgresql://...`; tables are created
and upgraded by versioned migrations (`StateDB.migrate`). The ledger (`s3_pipelines.ledger`) and
every other state table go through this seam, never through a driver of their own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .base import Migration, Row, StateConn, StateDB, StateError, iso

__all__ = ["Migration", "Row", "StateConn", "StateDB", "StateError", "connect", "is_url", "iso"]

DEFAULT_SCHEMA = "s3_pipelines"
_cache: dict[tuple, StateDB] = {}
_lock = threading.Lock()


def is_url(target) -> bool:
    return isinstance(target, str) and "://" in target


def connect(target: str | os.PathLike, *, schema: str | None = None) -> StateDB:
    """The state database at `target`. PostgreSQL handles are shared per (url, schema) in a
    process, so their connections are reused across the many short-lived ledgers of a run."""
    if is_url(target) and str(target).split("://", 1)[0] in ("postgresql", "postgres"):
        from .postgres import PostgresState

        key = ("postgres", str(target), schema or DEFAULT_SCHEMA)
        with _lock:
            db = _cache.get(key)
            if db is None:
                db = _cache[key] = PostgresState(str(target), schema or DEFAULT_SCHEMA)
        return db
    from .sqlite import SqliteState

    if is_url(target):
        scheme, rest = str(target).split("://", 1)
        if scheme != "sqlite":
            raise ValueError(f"state database: unsupported scheme {scheme}:// (sqlite:///path or postgresql://...)")
        target = rest[1:] if rest.startswith("/") else rest
    return SqliteState(Path(target))
