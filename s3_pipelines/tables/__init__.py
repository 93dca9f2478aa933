"""Polaris-style table ingestion (seed 003), free of Dagster: config -> SQL plan (plan.py), SQL
problems in the user's terms (sql_errors.py), DuckDB macros for Polaris' time functions (macros.py),
vectorized evaluation and rollup of Arrow batches (evaluate.py), or of the staged Parquet files in
one DuckDB statement when that gives the same rows (direct.py), the target table's schema
(table_schema.py), rollup merge (merge.py), append / replace writes (sink.py) and one load of a
partition (load.py)."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from ..config.tables import TableConfig, source_stream_name
from ..targets import sql_connections, target_types
from .evaluate import MappingError
from .load import LoadReport, TooManyParseExceptions, consumer, load_partition
from .plan import PlanError, TablePlan, build_plan, input_columns


def plan_for(cfg: PipelinesConfig, name: str) -> TablePlan:
    """The compiled plan of table `name` (the checking pass compiled it already)."""
    table = cfg.tables[name]
    stream = cfg.streams[source_stream_name(name, table)]
    return build_plan(name, table, input_columns(table, stream.schema_))


def resolve_target(name: str, table: TableConfig, connections: dict) -> str:
    """The connection name a table writes to: its `target`, else the only SQL target."""
    if table.target:
        return table.target
    sql = sql_connections(connections)
    if len(sql) != 1:
        raise ValueError(f"tables.{name}.target: required when there is not exactly one {target_types()} connection")
    return sql[0]


__all__ = ["LoadReport", "MappingError", "PlanError", "TablePlan", "TooManyParseExceptions", "build_plan",
           "consumer", "load_partition", "plan_for", "resolve_target"]
