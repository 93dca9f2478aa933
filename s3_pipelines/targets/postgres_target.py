"""PostgreSQL target. Arrow data goes in with COPY (CSV written by pyarrow), not row by row."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pacsv

from .base import SqlTarget, Tx, qident


def _pg_sql(sql: str) -> str:
    """`?` placeholders -> psycopg's `%s` (outside quoted strings); literal `%` escaped."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class _PgTx(Tx):
    dialect = "postgres"
    temp_table_suffix = " ON COMMIT DROP"

    def __init__(self, con, schema: str):
        self.con, self.schema = con, schema

    def execute(self, sql, params=()):
        with self.con.cursor() as cur:
            cur.execute(_pg_sql(sql), list(params))
            return cur.fetchall() if cur.description else []

    def executemany(self, sql, rows):
        if rows:
            with self.con.cursor() as cur:
                cur.executemany(_pg_sql(sql), [list(r) for r in rows])

    def insert_arrow(self, table, data, columns=None):
        cols = list(columns or data.column_names)
        data = data.select(cols)
        # nested values travel as JSON text; PostgreSQL casts text to json/jsonb columns itself
        buf = io.BytesIO()
        pacsv.write_csv(_flatten_nested(data), buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        names = ", ".join(qident(c) for c in cols)
        with self.con.cursor() as cur:
            with cur.copy(f"COPY {qident(table)} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buf.getvalue())

    def query_arrow(self, sql, params=()):
        with self.con.cursor() as cur:
            cur.execute(_pg_sql(sql), list(params))
            names = [d.name for d in cur.description]
            rows = cur.fetchall()
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    def table_columns(self, table):
        rows = self.execute(
            "SELECT column_name, lower(data_type) FROM information_schema.columns WHERE table_name=?"
            " AND table_schema=? ORDER BY ordinal_position", (table, self.schema))
        return {n: t for n, t in rows} or None

    def lock_key(self, key):
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    def lock_table(self, table):
        self.execute(f"LOCK TABLE {qident(table)} IN SHARE ROW EXCLUSIVE MODE")

    def create_scratch_table(self, name, select_sql):
        # unlogged: no WAL for rows that are copied once into the real tables and dropped
        self.execute(f"CREATE UNLOGGED TABLE {qident(name)} AS {select_sql}")

    def unique_nulls_not_distinct(self):
        return int(self.execute("SHOW server_version_num")[0][0]) >= 150000  # PostgreSQL 15+


def _flatten_nested(data: pa.Table) -> pa.Table:
    import json

    cols = []
    for col, field in zip(data.columns, data.schema):
        if pa.types.is_nested(field.type):
            col = pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=data.column_names)


class PostgresTarget(SqlTarget):
    type = dialect = "postgres"

    def __init__(self, url: str, schema: str = "public", name: str = "catalog"):
        self._url, self.schema, self.name = url, schema, name
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
            raise ValueError(f"invalid schema name {schema!r}")
        with self.transaction() as tx:
            tx.execute(f"CREATE SCHEMA IF NOT EXISTS {qident(schema)}")
        self.ensure_loads_table()

    @classmethod
    def from_connection(cls, name, conn, cfg):
        url = conn.url if isinstance(conn.url, str) else conn.url.resolve()
        return cls(url, conn.schema_name, name=name)

    @contextmanager
    def transaction(self):
        import psycopg

        try:
            con = psycopg.connect(self._url, autocommit=True, options=f"-c search_path={self.schema}")
        except psycopg.OperationalError as e:
            # the driver's message may quote the connection string: say what failed, not how we connected
            raise ConnectionError(f"cannot connect to PostgreSQL target {self.name!r}: "
                                  f"{_scrub(str(e), self._url)}") from None
        try:
            with con.transaction():
                yield _PgTx(con, self.schema)
        finally:
            con.close()

    def __repr__(self) -> str:  # the url may hold a password
        return f"PostgresTarget({self.name}, schema={self.schema})"


def _scrub(text: str, url: str) -> str:
    text = text.replace(url, "<url>")
    m = re.match(r"^[a-z+]+://[^:/@]+:([^@/]+)@", url)
    return text.replace(m.group(1), "***") if m else text
