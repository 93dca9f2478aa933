"""Evaluated rows written to the target table inside the load's transaction, by ingestion mode:

- append, detail table: rows inserted as they come (Arrow, COPY on PostgreSQL);
- append, rollup table: the load's groups merged into the table's groups (merge.py);
- replace: rows first go to a temporary table; then the table's rows in the `__time` intervals they
  cover (the whole table when there is no `__time`) are deleted and the new rows inserted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa

from ..config.tables import TIME_COLUMN
from ..targets.base import Tx, qident
from . import intervals
from .merge import merge_rollup
from .plan import TablePlan
from .table_schema import column_defs

INCOMING = "s3p_incoming"
Range = tuple[dt.datetime, dt.datetime]


class TableSink:
    def __init__(self, tx: Tx, plan: TablePlan):
        self.tx, self.plan = tx, plan
        self.table = qident(plan.table)
        self.cols = ", ".join(qident(n) for n in plan.column_names)
        self.rows_written = 0

    def lock(self) -> None:
        """One load at a time per table (a DuckDB file has one writer anyway): load marks are read
        and written under the lock, so two runs never apply an object twice."""
        self.tx.lock_table(self.plan.table)

    def append(self, tables: Iterable[pa.Table]) -> int:
        for t in tables:
            if t.num_rows:
                self.tx.insert_arrow(self.plan.table, t, self.plan.column_names)
                self.rows_written += t.num_rows
        return self.rows_written

    def merge(self, rolled: pa.Table) -> int:
        if rolled.num_rows:
            self._incoming([rolled])
            merge_rollup(self.tx, self.plan, INCOMING)
            self.rows_written += rolled.num_rows
        return self.rows_written

    def replace(self, tables: Iterable[pa.Table], granularity: str, whole_table: bool = False) -> list[Range] | None:
        """Replace the intervals the rows cover; returns them (None: the whole table was replaced)."""
        starts: set[dt.datetime] = set()
        by_time = self.plan.has_time and granularity != "all" and not whole_table

        def watch(ts: Iterable[pa.Table]):
            for t in ts:
                if by_time:
                    starts.update(intervals.bucket_starts(t[TIME_COLUMN], granularity))
                yield t

        n = self._incoming(watch(tables))
        if by_time:
            covered = intervals.ranges(starts, granularity)
            for start, end in covered:
                self.tx.execute(f"DELETE FROM {self.table} WHERE {qident(TIME_COLUMN)} >= ? AND {qident(TIME_COLUMN)} < ?",
                                (start, end))
        else:
            covered = None
            self.tx.execute(f"DELETE FROM {self.table}")
        self.tx.execute(f"INSERT INTO {self.table} ({self.cols}) SELECT {self.cols} FROM {INCOMING}")
        self.rows_written += n
        return covered

    def _incoming(self, tables: Iterable[pa.Table]) -> int:
        """A fresh temporary table of the plan's columns, filled; returns its row count."""
        self.tx.execute(f"DROP TABLE IF EXISTS {INCOMING}")
        self.tx.execute(f"CREATE TEMP TABLE {INCOMING} ({column_defs(self.plan)}){self.tx.temp_table_suffix}")
        n = 0
        for t in tables:
            if t.num_rows:
                self.tx.insert_arrow(INCOMING, t, self.plan.column_names)
                n += t.num_rows
        return n
