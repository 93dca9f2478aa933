"""Mappings evaluated over Arrow batches by DuckDB: whole batches at a time, never a Python loop
per row. Rows whose `__time` comes out NULL (TIME_PARSE could not read it) are dropped and reported
as parse exceptions, as Polaris does.

A rollup is two-phase: each batch is grouped on its own (a partial), partials are combined whenever
they pile up and once at the end, so memory follows the number of groups, not of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..config.tables import TIME_COLUMN
from .conform import ParseException, conform
from .macros import connect
from .plan import WHERE_KEY, WHERE_LINE, TablePlan
from .sql_errors import one_line, runtime_message
from .table_schema import TableSchemaError

COMBINE_AT_ROWS = 1_000_000  # partial rows kept before they are combined
KEEP_EXCEPTIONS = 100  # first exceptions kept for reports; the count is always exact


class MappingError(TableSchemaError):
    """A mapping failed on the data (e.g. a CAST of text that is no number): one line naming the
    table, the mapping and the object, never our SQL. The same data fails again, so like a table
    that does not fit, it fails the load without a retry."""


class Evaluator:
    def __init__(self, plan: TablePlan, con=None):
        self.plan = plan
        self.con = con or connect()
        self.schema = plan.arrow_schema()
        self._projection = plan.projection_sql("__input")
        self.rows_in = 0  # input rows seen
        self.rows_skipped = 0  # rows dropped as parse exceptions
        self.exceptions: list[ParseException] = []

    def _skip(self, found: list[ParseException], count: int | None = None) -> None:
        self.rows_skipped += len(found) if count is None else count
        room = KEEP_EXCEPTIONS - len(self.exceptions)
        if room > 0:
            self.exceptions += found[:room]

    def project(self, batch: pa.RecordBatch | pa.Table) -> pa.Table:
        """Dimensions and aggregate arguments of the batch's good rows."""
        self.rows_in += batch.num_rows
        table, bad = conform(batch, self.plan.inputs)
        self._skip(bad)
        self.con.register("__input", table)
        try:
            out = self.con.sql(self._projection).to_arrow_table()
        except duckdb.Error as e:
            raise MappingError(self._failed_mapping(table, e)) from None
        finally:
            self.con.unregister("__input")
        if self.plan.has_time:
            null_time = out[TIME_COLUMN].is_null()
            n_bad = pc.sum(null_time).as_py() or 0
            if n_bad:
                room = max(0, KEEP_EXCEPTIONS - len(self.exceptions))
                where = out.filter(null_time).slice(0, room).select([WHERE_KEY, WHERE_LINE]).to_pylist()
                expr = next(c.expression for c in self.plan.dimensions if c.name == TIME_COLUMN)
                self._skip([ParseException(w[WHERE_KEY], w[WHERE_LINE], f"__time: {expr} gave no timestamp")
                            for w in where], n_bad)
                out = out.filter(pc.invert(null_time))
            out = out.drop_columns([WHERE_KEY, WHERE_LINE])
        return out

    def _failed_mapping(self, table: pa.Table, error: duckdb.Error) -> str:
        """Which mapping failed on this batch, each tried alone, and on which object."""
        keys = table["_s3_key"].drop_null() if "_s3_key" in table.column_names else []
        where = f" in object {keys[0].as_py()}" if len(keys) else ""
        for c, item in self.plan.projection_items():
            try:
                self.con.sql(f"SELECT {item} FROM __input").fetchall()
            except duckdb.Error as e:
                return (f"tables.{self.plan.name}: the mapping of column {c.name} (`{one_line(c.expression)}`) "
                        f"failed{where}: {runtime_message(e)}")
        return f"tables.{self.plan.name}: the mappings failed{where}: {runtime_message(error)}"

    def rows(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
        """A detail table: the mapped rows, batch by batch."""
        names = self.plan.column_names
        for batch in batches:
            out = self.project(batch)
            if out.num_rows:
                yield out.select(names).cast(self.schema)

    def rollup(self, batches: Iterable[pa.RecordBatch]) -> pa.Table:
        """A rollup table: one row per group over all the batches."""
        partials: list[pa.Table] = []
        pending = 0
        partial_sql = self.plan.partial_sql("__projected")
        for batch in batches:
            projected = self.project(batch)
            if not projected.num_rows:
                continue
            self.con.register("__projected", projected)
            try:
                part = self.con.sql(partial_sql).to_arrow_table()
            except duckdb.Error as e:
                raise MappingError(f"tables.{self.plan.name}: rolling up failed: {runtime_message(e)}") from None
            finally:
                self.con.unregister("__projected")
            partials.append(part)
            pending += part.num_rows
            if pending >= COMBINE_AT_ROWS and len(partials) > 1:
                partials = [self.combine(partials)]
                pending = partials[0].num_rows
        if not partials:
            return self.schema.empty_table()
        return self.combine(partials) if len(partials) > 1 else partials[0].cast(self.schema)

    def combine(self, partials: list[pa.Table]) -> pa.Table:
        merged = pa.concat_tables([p.cast(self.schema) for p in partials])
        self.con.register("__partials", merged)
        try:
            return self.con.sql(self.plan.combine_sql("__partials")).to_arrow_table().cast(self.schema)
        except duckdb.Error as e:
            raise MappingError(f"tables.{self.plan.name}: rolling up failed: {runtime_message(e)}") from None
        finally:
            self.con.unregister("__partials")

    def close(self) -> None:
        self.con.close()
