"""A table's mappings compiled into SQL: the projection over each input batch, the partial rollup of
one batch, and the combination of partial rollups (also used to merge into the target).

Each aggregate mapping is one MAX / MIN / SUM / COUNT call, so its argument is projected like any
other expression and the aggregate is applied in a second step. That split is what makes a rollup
mergeable: MAX of MAXes, MIN of MINs, SUM of SUMs, counts summed. Output column types come from
DuckDB itself, by compiling each expression against an empty input of the declared schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..config.tables import COUNT_COLUMN, TIME_COLUMN, TableConfig, aggregate_call
from ..readers.records import PROVENANCE_TYPES
from ..readers.schema import ARROW_TYPES
from ..targets.base import qident
from .macros import connect
from .sql_errors import compile_expression, one_line

# what a column can hold in a table, and how each kind is spelled
KINDS = ("string", "long", "double", "boolean", "timestamp", "date")
DUCK_TYPES = {"string": "VARCHAR", "long": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN",
              "timestamp": "TIMESTAMPTZ", "date": "DATE"}
# provenance of each input row, kept through the projection to name rows in parse exceptions
ROW_PROVENANCE = {name: PROVENANCE_TYPES[name] for name in ("_s3_key", "_s3_line", "_s3_row")}
WHERE_KEY, WHERE_LINE = "__s3p_key", "__s3p_line"


class PlanError(ValueError):
    """Mappings that cannot run; `problems` are lines `yaml.path: what is wrong`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    expression: str  # the mapping as written
    func: str | None = None  # MAX | MIN | SUM | COUNT for an aggregate
    arg: str | None = None  # the aggregate's argument; "*" for COUNT(*)


@dataclass(frozen=True)
class TablePlan:
    name: str  # the config entry
    table: str  # the table in the target
    inputs: tuple[tuple[str, str], ...]  # declared input columns (name, type)
    dimensions: tuple[Column, ...]
    aggregates: tuple[Column, ...]  # with __count last, for a rollup

    @property
    def rollup(self) -> bool:
        return bool(self.aggregates)

    @property
    def has_time(self) -> bool:
        return any(c.name == TIME_COLUMN for c in self.dimensions)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.dimensions + self.aggregates

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, ARROW_TYPES[c.kind]) for c in self.columns])

    def _arg_name(self, i: int) -> str:
        return f"__s3p_arg{i}"

    def projection_items(self) -> list[tuple[Column, str]]:
        """Each mapping's select item: a dimension, or an aggregate's argument (none for COUNT(*)).
        Each expression is on lines of its own, as it was checked: a trailing `-- comment` ends there."""
        items = [(c, f"CAST((\n{c.expression}\n) AS {DUCK_TYPES[c.kind]}) AS {qident(c.name)}") for c in self.dimensions]
        for i, c in enumerate(self.aggregates):
            if c.arg != "*":
                cast = DUCK_TYPES[c.kind] if c.func in ("MAX", "MIN", "SUM") else None
                items.append((c, f"CAST((\n{c.arg}\n) AS {cast}) AS {qident(self._arg_name(i))}" if cast
                              else f"(\n{c.arg}\n) AS {qident(self._arg_name(i))}"))
        return items

    def projection_sql(self, source: str = "__input", where: bool = True) -> str:
        """Dimensions and aggregate arguments of every input row (nothing is aggregated yet); with
        `where`, each row's object key and line too, to name a row whose `__time` is NULL."""
        items = [sql for _, sql in self.projection_items()]
        if self.has_time and where:
            items += [f"{qident('_s3_key')} AS {WHERE_KEY}",
                      f"coalesce({qident('_s3_line')}, {qident('_s3_row')}) AS {WHERE_LINE}"]
        return f"SELECT {', '.join(items) or '1 AS __s3p_one'} FROM {source}"

    def partial_sql(self, source: str = "__projected") -> str:
        """One batch's rollup: groups of its projected rows."""
        items = [qident(c.name) for c in self.dimensions]
        for i, c in enumerate(self.aggregates):
            arg = "*" if c.arg == "*" else qident(self._arg_name(i))
            items.append(f"{_typed(c, f'{c.func}({arg})')} AS {qident(c.name)}")
        return self._grouped(items, source)

    def combine_sql(self, source: str) -> str:
        """Partial rollups (or table rows) with the same group made one: the rollup merge rule.
        Plain SQL that DuckDB and PostgreSQL both run."""
        items = [qident(c.name) for c in self.dimensions]
        for c in self.aggregates:
            func = {"MAX": "MAX", "MIN": "MIN"}.get(c.func, "SUM")
            items.append(f"{_typed(c, f'{func}({qident(c.name)})')} AS {qident(c.name)}")
        return self._grouped(items, source)

    def _grouped(self, items: list[str], source: str) -> str:
        sql = f"SELECT {', '.join(items)} FROM {source}"
        if self.dimensions:
            return sql + " GROUP BY " + ", ".join(qident(c.name) for c in self.dimensions)
        return sql + " HAVING COUNT(*) > 0"  # no dimension: one group, but none from no rows


def _typed(c: Column, sql: str) -> str:
    # SUM of BIGINT is HUGEINT (DuckDB) or NUMERIC (PostgreSQL): back to the column's type
    if c.func in ("SUM", "COUNT"):
        return f"CAST({sql} AS {'DOUBLE PRECISION' if c.kind == 'double' else 'BIGINT'})"
    return sql


def duck_kind(type_name: str) -> str | None:
    """The kind of a DuckDB result type, or None when a table cannot hold it as is."""
    t = type_name.upper()
    if t == "VARCHAR":
        return "string"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "HUGEINT"):
        return "long"
    if t in ("DOUBLE", "FLOAT") or t.startswith("DECIMAL"):
        return "double"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    return None


def input_columns(table: TableConfig, stream_schema) -> tuple[tuple[str, str], ...]:
    """The declared input columns: the table's input_schema, else its stream's schema."""
    specs = table.input_schema or stream_schema or []
    return tuple((c.name, c.type) for c in specs)


def empty_input(inputs) -> pa.Table:
    fields = [(n, ARROW_TYPES[t]) for n, t in inputs]
    fields += [(n, t) for n, t in ROW_PROVENANCE.items() if n not in dict(inputs)]
    return pa.schema(fields).empty_table()


def build_plan(name: str, table: TableConfig, inputs, con: duckdb.DuckDBPyConnection | None = None) -> TablePlan:
    """Compile every mapping against an empty input; all problems at once, each a line
    `yaml.path: `expression`: what is wrong`."""
    con = con or connect()
    columns = [n for n, _ in inputs]
    con.register("__input", empty_input(inputs))
    problems: list[str] = []
    dims, aggs = [], []
    try:
        for i, m in enumerate(table.mappings):
            where = f"tables.{name}.mappings.{i}.expression: `{one_line(m.expression)}`"
            call = aggregate_call(m.expression) if m.aggregate else None
            func, arg = call if call else (None, None)
            if arg == "*":
                aggs.append(Column(m.column, "long", m.expression, func, arg))
                continue
            kind, problem = _compile(con, arg if call else m.expression, columns)
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            if func == "COUNT":
                kind = "long"
            elif func == "SUM" and kind not in ("long", "double"):
                problems.append(f"{where}: SUM needs a number, but {arg} is {kind}")
                continue
            if m.column == TIME_COLUMN and kind != "timestamp":
                problems.append(f"{where}: __time must be a timestamp, but this is {kind} (use TIME_PARSE(...))")
                continue
            (aggs if call else dims).append(Column(m.column, kind, m.expression, func, arg))
    finally:
        con.unregister("__input")
    if problems:
        raise PlanError(problems)
    if aggs:
        aggs.append(Column(COUNT_COLUMN, "long", "COUNT(*)", "COUNT", "*"))
    return TablePlan(name, table.table_name or name, tuple(inputs), tuple(dims), tuple(aggs))


def _compile(con: duckdb.DuckDBPyConnection, expression: str, columns: list[str]) -> tuple[str | None, str | None]:
    """(kind, None) or (None, problem in the user's terms: sql_errors.py)."""
    type_name, problem = compile_expression(con, expression, columns)
    if problem:
        return None, problem
    kind = duck_kind(type_name)
    if kind is None:
        return None, f"gives {type_name}, which a table column cannot hold; CAST it to VARCHAR, BIGINT, DOUBLE, BOOLEAN or TIMESTAMP"
    return kind, None
