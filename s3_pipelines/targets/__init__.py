"""SQL targets (catalog tables, Polaris-style tables): DuckDB file or PostgreSQL server."""

from __future__ import annotations

from ..config.models import DuckDBConnectionConfig, PipelinesConfig, PostgresConnectionConfig
from .base import LOADS_TABLE, SqlTarget, Tx, qident


def open_target(cfg: PipelinesConfig, name: str) -> SqlTarget:
    """The target behind connection `name` (a duckdb or postgres connection)."""
    conn = cfg.connections.get(name)
    if isinstance(conn, DuckDBConnectionConfig):
        from .duckdb_target import DuckDBTarget

        return DuckDBTarget(cfg.resolve(conn.path), name=name)
    if isinstance(conn, PostgresConnectionConfig):
        from .postgres_target import PostgresTarget

        url = conn.url if isinstance(conn.url, str) else conn.url.resolve()
        return PostgresTarget(url, conn.schema_name, name=name)
    raise ValueError(f"connection {name!r} is not a duckdb or postgres connection")


__all__ = ["LOADS_TABLE", "SqlTarget", "Tx", "open_target", "qident"]
