"""The seam between the engine's state tables and the database holding them.

Callers write one SQL text for both backends: `?` placeholders, `INSERT ... ON CONFLICT ... DO
NOTHING | DO UPDATE SET x=excluded.x`, `RETURNING`, and DDL with SQLite's type names. What differs is a
method here: how a write transaction excludes other writers (`tx`), how a claim locks the rows it
reads (`lock_rows`), the clock leases are measured by (`StateConn.now`), and how DDL types map
(`ddl`). Versioned migrations per component (`migrate`) live in one `schema_version` table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

# A migration step: SQL statements separated by `;` (portable, see `StateDB.ddl`) or a callable
# taking the open transaction's connection (for data moves that SQL alone cannot say).
Step = str | Callable[["StateConn"], None]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    step: Step


class StateError(RuntimeError):
    """The state database cannot be used as it is (too new, unreachable)."""


class Row(tuple):
    """A result row readable by position and by column name (as `sqlite3.Row`)."""

    __slots__ = ()
    _names: tuple[str, ...] = ()

    def __getitem__(self, item):
        if isinstance(item, str):
            try:
                return tuple.__getitem__(self, self._names.index(item))
            except ValueError:
                raise KeyError(item) from None
        return tuple.__getitem__(self, item)

    def keys(self) -> list[str]:
        return list(self._names)


def row_class(names: Sequence[str]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_names": tuple(names)})


def iso(t: dt.datetime) -> str:
    """The one text form of instants in state tables: ISO 8601, UTC, milliseconds (sorts as time)."""
    return t.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


class StateConn:
    """One connection inside a transaction (or autocommit, for reads)."""

    dialect: str

    def execute(self, sql: str, params: Sequence = ()):
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        raise NotImplementedError

    def now(self, plus: dt.timedelta = dt.timedelta(0)) -> str:
        """The time by the state database's clock (one clock for every host of a deployment)."""
        return iso(dt.datetime.now(dt.timezone.utc) + plus)

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def insert_new(self, table: str, columns: Sequence[str], rows: Sequence[Sequence], returning: Sequence[str],
                   chunk: int = 500) -> list[tuple]:
        """Insert rows, skipping those whose primary key exists; the `returning` columns of the rows
        actually inserted. Many rows per statement: a round trip per row is what makes a server slow."""
        out: list[tuple] = []
        cols = ", ".join(columns)
        one = "(" + ",".join("?" * len(columns)) + ")"
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            cur = self.execute(
                f"INSERT INTO {table} ({cols}) VALUES {','.join([one] * len(part))} ON CONFLICT DO NOTHING"
                f" RETURNING {', '.join(returning)}", [v for r in part for v in r])
            out += [tuple(r) for r in cur.fetchall()]
        return out


class StateDB:
    """A state database: `tx()` for writes (serialized where they must be), `read()` for reads."""

    dialect: str = ""

    def describe(self) -> str:
        """Where the state lives, for messages: never a password."""
        raise NotImplementedError

    @contextmanager
    def tx(self) -> Iterator[StateConn]:
        raise NotImplementedError
        yield

    @contextmanager
    def read(self) -> Iterator[StateConn]:
        raise NotImplementedError
        yield

    def lock_rows(self, alias: str) -> str:
        """Clause appended to a SELECT inside `tx()` that takes rows for this transaction only.
        SQLite: nothing (BEGIN IMMEDIATE already excludes every other writer)."""
        return ""

    def ddl(self, sql: str) -> str:
        return sql

    # --- migrations ------------------------------------------------------------------------------

    def _migration_lock(self, db: StateConn) -> None:
        """Inside `tx()`: one process migrates at a time."""

    def migrate(self, component: str, migrations: Sequence[Migration],
                baseline: Callable[[StateConn], int] = lambda db: 0) -> int:
        """Bring `component`'s tables to the newest version, in place, one step per version in one
        transaction. `baseline` tells the version of a database made before versions were recorded
        (from the tables it has). Returns the version reached."""
        latest = migrations[-1].version if migrations else 0
        assert [m.version for m in migrations] == list(range(1, latest + 1)), "versions are 1, 2, 3, ..."
        with self.tx() as db:
            self._migration_lock(db)
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY,"
                       " version INTEGER NOT NULL, description TEXT, updated_at TEXT NOT NULL)")
            row = db.execute("SELECT version FROM schema_version WHERE component=?", (component,)).fetchone()
            current = row[0] if row else baseline(db)
            if current > latest:
                raise StateError(f"the state database ({self.describe()}) has {component} schema version {current};"
                                 f" this s3_pipelines knows versions up to {latest}: upgrade s3_pipelines")
            for m in migrations[current:]:
                if callable(m.step):
                    m.step(db)
                else:
                    for statement in filter(str.strip, m.step.split(";")):
                        db.execute(self.ddl(statement))
            if row is None or current != latest:
                db.execute(
                    "INSERT INTO schema_version VALUES (?,?,?,?) ON CONFLICT(component) DO UPDATE SET"
                    " version=excluded.version, description=excluded.description, updated_at=excluded.updated_at",
                    (component, latest, migrations[-1].description if migrations else "", db.now()))
        return latest

    def version(self, component: str) -> int | None:
        with self.read() as db:
            if not db.table_exists("schema_version"):
                return None
            row = db.execute("SELECT version FROM schema_version WHERE component=?", (component,)).fetchone()
        return row[0] if row else None
