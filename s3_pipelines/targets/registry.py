"""Every SQL target, by the connection type it serves. A new target is one file beside this one
(a `SqlTarget` with its `Tx`) plus one line here; its connection's fields are a model in
`config/connections.py`."""

from __future__ import annotations

from collections.abc import Mapping

from .base import SqlTarget
from .duckdb_target import DuckDBTarget
from .postgres_target import PostgresTarget

TARGETS: dict[str, type[SqlTarget]] = {cls.type: cls for cls in (
    DuckDBTarget,
    PostgresTarget,
)}


def target_types() -> str:
    """The SQL connection types, for messages: `duckdb/postgres`."""
    return "/".join(TARGETS)


def is_sql_target(conn) -> bool:
    """Whether a connection (its config model, or its data in the file) is a SQL target."""
    kind = conn.get("type") if isinstance(conn, dict) else getattr(conn, "type", None)
    return isinstance(kind, str) and kind in TARGETS


def sql_connections(connections: Mapping) -> list[str]:
    """Names of the SQL target connections, in file order."""
    return [name for name, conn in connections.items() if is_sql_target(conn)]


def open_target(cfg, name: str) -> SqlTarget:
    """The target behind connection `name` of a config."""
    conn = cfg.connections.get(name)
    if not is_sql_target(conn):
        raise ValueError(f"connection {name!r} is not a {target_types()} connection")
    return TARGETS[conn.type].from_connection(name, conn, cfg)
