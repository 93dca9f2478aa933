"""A rollup computed by DuckDB straight from the staged Parquet files: one statement reads only the
columns the mappings use, projects and groups them on DuckDB's threads, and hands back the groups,
with no Arrow batch crossing into Python.

It gives what the batch path (evaluate.py) gives, and is taken only when that is certain: local
staged files whose declared input columns and row provenance are stored in exactly the declared
types (so conform() would cast nothing and drop no row). Otherwise — S3 staging, a column to cast,
or any DuckDB error (the batch path then names the mapping and the object that failed) — it
returns None and the batch path runs.

Rows whose `__time` is NULL land in groups with a NULL `__time`: their `__count` is the number of
parse exceptions, and only when there are some are the first rows found again to name them.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..config.tables import COUNT_COLUMN, TIME_COLUMN
from ..readers.schema import ARROW_TYPES
from ..targets.base import qident
from .conform import ParseException
from .evaluate import KEEP_EXCEPTIONS, Evaluator
from .plan import ROW_PROVENANCE, WHERE_KEY, WHERE_LINE


def _readable(files: Sequence[str], columns: dict[str, pa.DataType]) -> bool:
    if not files or any(f.startswith("s3://") or "'" in f for f in files):
        return False
    for f in files:
        schema = pq.read_schema(f)
        names = [n.lower() for n in schema.names]
        if len(set(names)) != len(names):  # DuckDB's names are case-insensitive
            return False
        for name, type_ in columns.items():
            idx = schema.get_field_index(name)
            if idx < 0 or not schema.field(idx).type.equals(type_):
                return False
    return True


def rollup_files(evaluator: Evaluator, files: Sequence[str]) -> pa.Table | None:
    """The rollup of every row of `files` (counted into the evaluator like the batch path), or None
    when the batch path must do it."""
    plan = evaluator.plan
    columns = {name: ARROW_TYPES[type_] for name, type_ in plan.inputs}
    columns.update({n: t for n, t in ROW_PROVENANCE.items() if n not in columns})
    if not plan.rollup or not _readable(files, columns):
        return None
    paths = ", ".join(f"'{f}'" for f in files)
    source = f"(SELECT {', '.join(qident(n) for n in columns)} FROM read_parquet([{paths}], union_by_name = true)) __input"
    projected = f"({plan.projection_sql(source, where=False)}) __projected"
    try:
        groups = evaluator.con.sql(plan.partial_sql(projected)).to_arrow_table()
    except duckdb.Error:
        return None
    evaluator.rows_in += pc.sum(groups[COUNT_COLUMN]).as_py() or 0
    if plan.has_time:
        null_time = groups[TIME_COLUMN].is_null()
        n_bad = pc.sum(groups.filter(null_time)[COUNT_COLUMN]).as_py() or 0
        if n_bad:
            evaluator._skip(_exceptions(evaluator, source), n_bad)
            groups = groups.filter(pc.invert(null_time))
    return groups.cast(evaluator.schema)


def _exceptions(evaluator: Evaluator, source: str) -> list[ParseException]:
    """The first rows whose `__time` came out NULL, in file order."""
    room = max(0, KEEP_EXCEPTIONS - len(evaluator.exceptions))
    if not room:
        return []
    plan = evaluator.plan
    expr = next(c.expression for c in plan.dimensions if c.name == TIME_COLUMN)
    rows = evaluator.con.sql(f"SELECT {WHERE_KEY}, {WHERE_LINE} FROM ({plan.projection_sql(source)}) p "
                             f"WHERE {qident(TIME_COLUMN)} IS NULL LIMIT {room}").fetchall()
    return [ParseException(key, line, f"__time: {expr} gave no timestamp") for key, line in rows]
