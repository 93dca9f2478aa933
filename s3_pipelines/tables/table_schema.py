"""The table in the target: created from the plan when allowed, else checked against it, so a load
never writes into a column of another type. One spelling of each type serves DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib

from ..targets.base import SqlTarget, Tx, qident
from .plan import TablePlan

SQL_TYPES = {"string": "TEXT", "long": "BIGINT", "double": "DOUBLE PRECISION", "boolean": "BOOLEAN",
             "timestamp": "TIMESTAMPTZ", "date": "DATE"}
# information_schema spellings (lower case) that hold each kind without loss
COMPATIBLE = {
    "string": {"text", "varchar", "character varying"},
    "long": {"bigint"},
    "double": {"double", "double precision"},
    "boolean": {"boolean"},
    "timestamp": {"timestamp with time zone"},
    "date": {"date"},
}


class TableSchemaError(Exception):
    """The target table is missing or does not fit the mappings."""


def column_defs(plan: TablePlan) -> str:
    return ", ".join(f"{qident(c.name)} {SQL_TYPES[c.kind]}" for c in plan.columns)


def rollup_index_name(plan: TablePlan) -> str:
    name = f"{plan.table}__rollup"
    if len(name) > 63:  # PostgreSQL's identifier limit
        name = plan.table[:40] + "__rollup_" + hashlib.sha256(plan.table.encode()).hexdigest()[:12]
    return name


def ensure_table(target: SqlTarget, plan: TablePlan, create: bool) -> bool:
    """Create the table (create_table_if_not_exists) or check the existing one; True when created.
    Where the target allows it (PostgreSQL 15+), a rollup table gets a unique index on its group
    columns, so groups merge by upsert."""
    with target.transaction() as tx:
        existing = tx.table_columns(plan.table)
        if existing is None:
            if not create:
                raise TableSchemaError(
                    f"table {plan.table!r} does not exist in target {target.name!r} and "
                    f"tables.{plan.name}.create_table_if_not_exists is false: create it, or set it to true")
            tx.execute(f"CREATE TABLE IF NOT EXISTS {qident(plan.table)} ({column_defs(plan)})")
        else:
            check_columns(plan, existing, target.name)
        if plan.rollup and plan.dimensions and tx.unique_nulls_not_distinct():
            _ensure_rollup_index(tx, plan)
    return existing is None


def check_columns(plan: TablePlan, existing: dict[str, str], target_name: str) -> None:
    problems = []
    for c in plan.columns:
        have = existing.get(c.name)
        if have is None:
            problems.append(f"column {c.name!r} is missing (the mapping {c.expression} gives {SQL_TYPES[c.kind]})")
        elif have not in COMPATIBLE[c.kind]:
            problems.append(f"column {c.name!r} is {have}, but the mapping {c.expression} gives "
                            f"{SQL_TYPES[c.kind]} ({c.kind})")
    if problems:
        raise TableSchemaError(f"table {plan.table!r} in target {target_name!r} does not fit tables.{plan.name}: "
                               + "; ".join(problems))


def _ensure_rollup_index(tx: Tx, plan: TablePlan) -> None:
    name = rollup_index_name(plan)
    dims = ", ".join(qident(c.name) for c in plan.dimensions)
    try:
        tx.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {qident(name)} ON {qident(plan.table)} ({dims}) NULLS NOT DISTINCT")
    except Exception as e:  # e.g. duplicate groups in a table made elsewhere
        raise TableSchemaError(
            f"table {plan.table!r}: cannot index its rollup groups ({', '.join(c.name for c in plan.dimensions)}): "
            f"{str(e).splitlines()[0]} - does it hold one row per group?") from None
