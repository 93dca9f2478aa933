"""Polaris-style table ingestion (seed 003), free of Dagster: config -> SQL plan (plan.py), DuckDB
macros for Polaris' time functions (macros.py), vectorized evaluation and rollup of Arrow batches
(evaluate.py), the target table's schema (table_schema.py), rollup merge (merge.py), append /
replace writes (sink.py) and one load of a partition (load.py)."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from ..config.tables import source_stream_name
from .load import LoadReport, TooManyParseExceptions, consumer, load_partition
from .plan import PlanError, TablePlan, build_plan, input_columns


def plan_for(cfg: PipelinesConfig, name: str) -> TablePlan:
    """The compiled plan of table `name` (the config validated it already)."""
    table = cfg.tables[name]
    stream = cfg.streams[source_stream_name(name, table)]
    return build_plan(name, table, input_columns(table, stream.schema_))


__all__ = ["LoadReport", "PlanError", "TablePlan", "TooManyParseExceptions", "build_plan", "consumer",
           "load_partition", "plan_for"]
