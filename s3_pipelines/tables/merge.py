"""Rollup rows of a load merged into the groups already in the target table, in the caller's
transaction: MAX of MAXes, MIN of MINs, SUM of SUMs, counts added; new groups inserted.

A target whose unique index can be NULLS NOT DISTINCT (PostgreSQL 15+, `Tx.unique_nulls_not_distinct`):
an upsert on the unique index of the group columns, so only the touched groups are read. Otherwise
(DuckDB, older PostgreSQL): the touched
groups are combined with the incoming rows by the plan's own combine SQL, deleted, and inserted again;
DuckDB hash-joins on IS NOT DISTINCT FROM, so a NULL group key matches itself.
"""

from __future__ import annotations

from ..targets.base import Tx, qident
from .plan import TablePlan

MERGED = "s3p_merged"


def merge_rollup(tx: Tx, plan: TablePlan, incoming: str) -> None:
    """Merge the rolled-up rows of table `incoming` (one row per group) into the plan's table."""
    if plan.dimensions and tx.unique_nulls_not_distinct():
        _upsert(tx, plan, incoming)
    else:
        _combine_and_replace(tx, plan, incoming)


def _merge_expr(func: str, col: str) -> str:
    cur, new = f"cur.{col}", f"EXCLUDED.{col}"
    if func == "MAX":
        return f"GREATEST({cur}, {new})"  # PostgreSQL's GREATEST/LEAST skip NULLs, as MAX/MIN do
    if func == "MIN":
        return f"LEAST({cur}, {new})"
    return f"COALESCE({cur} + {new}, {cur}, {new})"  # SUM of nothing is NULL; COUNT never is


def _upsert(tx: Tx, plan: TablePlan, incoming: str) -> None:
    cols = ", ".join(qident(n) for n in plan.column_names)
    keys = ", ".join(qident(c.name) for c in plan.dimensions)
    sets = ", ".join(f"{qident(c.name)} = {_merge_expr(c.func, qident(c.name))}" for c in plan.aggregates)
    tx.execute(f"INSERT INTO {qident(plan.table)} AS cur ({cols}) SELECT {cols} FROM {incoming}"
               f" ON CONFLICT ({keys}) DO UPDATE SET {sets}")


def _combine_and_replace(tx: Tx, plan: TablePlan, incoming: str) -> None:
    table = qident(plan.table)
    cols = ", ".join(qident(n) for n in plan.column_names)
    if plan.dimensions:
        match = " AND ".join(f"t.{qident(c.name)} IS NOT DISTINCT FROM i.{qident(c.name)}" for c in plan.dimensions)
        touched = f"EXISTS (SELECT 1 FROM {incoming} i WHERE {match})"
        old = f"SELECT {cols} FROM {table} t WHERE {touched}"
        delete = f"DELETE FROM {table} t WHERE {touched}"
    else:  # one group: the whole table
        old, delete = f"SELECT {cols} FROM {table}", f"DELETE FROM {table}"
    tx.execute(f"DROP TABLE IF EXISTS {MERGED}")
    tx.execute(f"CREATE TEMP TABLE {MERGED} AS "
               + plan.combine_sql(f"({old} UNION ALL SELECT {cols} FROM {incoming}) u"))
    tx.execute(delete)
    tx.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {MERGED}")
    tx.execute(f"DROP TABLE {MERGED}")
