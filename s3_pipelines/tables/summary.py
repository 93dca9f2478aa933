"""What `run` and `demo` print after the stream table: rows per table in its target."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from ..targets import open_target, qident
from . import resolve_target


def table_summary(cfg: PipelinesConfig, streams: list[str] | None = None) -> list[str]:
    """`streams`: only the tables loaded from these streams."""
    from ..config.tables import source_stream_name

    lines = []
    for name, table in cfg.tables.items():
        if streams is not None and source_stream_name(name, table) not in streams:
            continue
        target_name = resolve_target(name, table, cfg.connections)
        physical = table.table_name or name
        with open_target(cfg, target_name).transaction() as tx:
            exists = tx.table_columns(physical) is not None
            rows = tx.execute(f"SELECT count(*) FROM {qident(physical)}")[0][0] if exists else 0
        lines.append(f"  {name:<30} {rows:>8} row(s) in {target_name}.{physical}"
                     + ("" if exists else " (not created yet)"))
    return ["\ntables:"] + lines if lines else []


def print_table_summary(cfg: PipelinesConfig, streams: list[str] | None = None) -> None:
    for line in table_summary(cfg, streams):
        print(line)
