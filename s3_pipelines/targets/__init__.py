"""SQL targets (catalog tables, Polaris-style tables): one file per kind, listed in registry.py."""

from __future__ import annotations

from .base import LOADS_TABLE, SqlTarget, Tx, qident
from .registry import TARGETS, is_sql_target, open_target, sql_connections, target_types

__all__ = ["LOADS_TABLE", "TARGETS", "SqlTarget", "Tx", "is_sql_target", "open_target", "qident",
           "sql_connections", "target_types"]
