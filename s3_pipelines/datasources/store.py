"""The registry's tables (data sources and their audit), beside the ledger's in the state database:
plain SQL (no upserts, no engine-specific types) through the ledger's transactions."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..config.models import PipelinesConfig
from ..ledger import Ledger
from ..state import Migration

MIGRATIONS = [Migration(1, "data sources and their audit", """
CREATE TABLE IF NOT EXISTS datasources (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, connection TEXT NOT NULL, prefix TEXT NOT NULL,
    origin TEXT NOT NULL, description TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    disabled_at TEXT, disabled_by TEXT, object_count INTEGER, bytes INTEGER, newest_object_at TEXT,
    stats_complete INTEGER, observed_at TEXT, observe_error TEXT);
CREATE TABLE IF NOT EXISTS datasource_audit (
    at TEXT NOT NULL, os_user TEXT NOT NULL, action TEXT NOT NULL, datasource_id INTEGER,
    name TEXT NOT NULL, details TEXT)
""")]
COLUMNS = ("id", "name", "connection", "prefix", "origin", "description", "created_at", "created_by",
           "disabled_at", "disabled_by", "object_count", "bytes", "newest_object_at", "stats_complete",
           "observed_at", "observe_error")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
NAME_RULE = "data source names are letters, digits, _ . and -, starting with a letter or digit, at most 128"
SCAN_PAGES = 100  # a listing of at most 100,000 objects per scan; beyond, the counts say incomplete


class DataSourceError(ValueError):
    """A refused change, with a message that names what it clashes with."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass(frozen=True)
class DataSource:
    id: int
    name: str
    connection: str
    prefix: str
    origin: str  # config | cli
    description: str | None
    created_at: str
    created_by: str
    disabled_at: str | None
    disabled_by: str | None
    object_count: int | None
    bytes: int | None
    newest_object_at: str | None
    stats_complete: int | None
    observed_at: str | None
    observe_error: str | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def full_prefix(self, cfg: PipelinesConfig) -> str:
        return cfg.s3_connection(self.connection).prefix + self.prefix

    def to_json(self, cfg: PipelinesConfig | None = None) -> dict:
        """Immuta's fields first (`dataSourceId`, `dataSourceName`, `prefix`, `disabled`), then ours."""
        out = {"dataSourceId": self.id, "dataSourceName": self.name, "prefix": self.prefix,
               "disabled": self.disabled, "connection": self.connection}
        if cfg is not None and self.connection in cfg.connections and cfg.connections[self.connection].type == "s3":
            out["uri"] = f"s3://{cfg.s3_connection(self.connection).bucket}/{self.full_prefix(cfg)}"
        out.update({
            "origin": self.origin, "description": self.description,
            "createdAt": self.created_at, "createdBy": self.created_by,
            "disabledAt": self.disabled_at, "disabledBy": self.disabled_by,
            "objectCount": self.object_count, "bytes": self.bytes, "newestObjectAt": self.newest_object_at,
            "statsComplete": None if self.stats_complete is None else bool(self.stats_complete),
            "observedAt": self.observed_at, "observeError": self.observe_error,
        })
        return out


@dataclass(frozen=True)
class PrefixStats:
    objects: int
    bytes: int
    newest: str | None
    complete: bool


def overlaps(a: str, b: str) -> bool:
    """Two prefixes overlap when one lies under the other (the same prefix included)."""
    return a.startswith(b) or b.startswith(a)


def state_database(cfg: PipelinesConfig):
    """The configured state database (URL or secret), None for the embedded SQLite file."""
    return cfg.state_database() if hasattr(cfg, "state_database") else None


def open_ledger(cfg: PipelinesConfig) -> Ledger:
    return Ledger.from_config(cfg)


def state_exists(cfg: PipelinesConfig) -> bool:
    """Whether there is a state database to read (an embedded file is not created just to read it)."""
    return state_database(cfg) is not None or Path(cfg.ledger_path()).exists()


def check_new(rows: list[DataSource], name: str, connection: str, prefix: str) -> None:
    """DataSourceError naming the clash: a name taken (active or disabled), or the same or an
    overlapping prefix of an active data source of the connection."""
    clash = next((d for d in rows if d.name == name), None)
    if clash is not None:
        state = "disabled" if clash.disabled else "active"
        raise DataSourceError(f"data source {name!r} exists ({state}, connection {clash.connection!r}, "
                              f"prefix {clash.prefix!r})")
    for d in rows:
        if d.connection == connection and not d.disabled and overlaps(prefix, d.prefix):
            how = "the same prefix as" if d.prefix == prefix else "a prefix overlapping"
            raise DataSourceError(f"prefix {prefix!r} of connection {connection!r} is {how} data source "
                                  f"{d.name!r} (prefix {d.prefix!r})")


class Registry:
    """The two tables, through the ledger's connection and transactions."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        ledger.db.migrate("datasources", MIGRATIONS)

    @classmethod
    def open(cls, cfg: PipelinesConfig) -> "Registry":
        return cls(open_ledger(cfg))

    @classmethod
    def open_existing(cls, cfg: PipelinesConfig) -> "Registry | None":
        """The registry when there is one to read (its tables exist); None otherwise: readers
        (validate, policy, the code location) create no tables in a state database that has none."""
        if not state_exists(cfg):
            return None
        ledger = open_ledger(cfg)
        with ledger.db.read() as db:
            if not db.table_exists("datasources"):
                return None
        return cls(ledger)

    def _read(self):
        return self.ledger.db.read()

    def _tx(self):
        return self.ledger.transaction()

    @staticmethod
    def _row(r) -> DataSource:
        return DataSource(*(r[c] for c in COLUMNS))

    def get(self, name: str) -> DataSource | None:
        with self._read() as db:
            r = db.execute(f"SELECT {', '.join(COLUMNS)} FROM datasources WHERE name = ?", (name,)).fetchone()
        return self._row(r) if r else None

    def all(self) -> list[DataSource]:
        with self._read() as db:
            return [self._row(r) for r in db.execute(f"SELECT {', '.join(COLUMNS)} FROM datasources ORDER BY name")]

    def search(self, text: str | None = None, include_disabled: bool = False) -> list[DataSource]:
        """By name or prefix (case-insensitive substring), as Immuta's search."""
        needle = (text or "").lower()
        return [d for d in self.all() if (include_disabled or not d.disabled)
                and (needle in d.name.lower() or needle in d.prefix.lower())]

    def _audit(self, db, action: str, name: str, ds_id: int | None, user: str, **details) -> None:
        db.execute("INSERT INTO datasource_audit (at, os_user, action, datasource_id, name, details)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (_now(), user, action, ds_id, name, json.dumps(details, sort_keys=True)))

    def audit(self, name: str | None = None) -> list[dict]:
        sql = "SELECT at, os_user, action, datasource_id, name, details FROM datasource_audit"
        args: tuple = ()
        if name is not None:
            sql, args = sql + " WHERE name = ?", (name,)
        with self._read() as db:
            rows = db.execute(sql + " ORDER BY at, datasource_id", args).fetchall()
        return [{"at": r["at"], "user": r["os_user"], "action": r["action"], "dataSourceId": r["datasource_id"],
                 "dataSourceName": r["name"], "details": json.loads(r["details"] or "{}")} for r in rows]

    def insert(self, name: str, connection: str, prefix: str, origin: str, user: str,
               description: str | None = None, stats: PrefixStats | None = None) -> DataSource:
        """Checks and insert in one write transaction: two concurrent creates cannot both pass."""
        with self._tx() as db:
            check_new([self._row(r) for r in db.execute(f"SELECT {', '.join(COLUMNS)} FROM datasources")],
                      name, connection, prefix)
            # ids are never reused, not even after a hard delete (the audit keeps the old ones)
            top = [db.execute(f"SELECT MAX({c}) FROM {t}").fetchone()[0] or 0
                   for c, t in (("id", "datasources"), ("datasource_id", "datasource_audit"))]
            ds_id, now = max(top) + 1, _now()
            db.execute(
                "INSERT INTO datasources (id, name, connection, prefix, origin, description, created_at, created_by,"
                " object_count, bytes, newest_object_at, stats_complete, observed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ds_id, name, connection, prefix, origin, description, now, user,
                 *((stats.objects, stats.bytes, stats.newest, int(stats.complete), now) if stats else (None,) * 5)))
            self._audit(db, "create", name, ds_id, user, connection=connection, prefix=prefix, origin=origin)
        return self.get(name)

    def disable(self, ds: DataSource, user: str) -> DataSource:
        with self._tx() as db:
            db.execute("UPDATE datasources SET disabled_at = ?, disabled_by = ? WHERE id = ? AND disabled_at IS NULL",
                       (_now(), user, ds.id))
            self._audit(db, "disable", ds.name, ds.id, user)
        return self.get(ds.name)

    def remove(self, ds: DataSource, user: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM datasources WHERE id = ?", (ds.id,))
            self._audit(db, "delete", ds.name, ds.id, user, connection=ds.connection, prefix=ds.prefix)

    def update_from_config(self, ds: DataSource, connection: str, prefix: str, description: str | None,
                           user: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE datasources SET connection = ?, prefix = ?, description = ? WHERE id = ?",
                       (connection, prefix, description, ds.id))
            self._audit(db, "update", ds.name, ds.id, user, connection=connection, prefix=prefix, origin="config")

    def record_stats(self, ds: DataSource, stats: PrefixStats | None, error: str | None = None) -> DataSource:
        with self._tx() as db:
            if stats is None:
                db.execute("UPDATE datasources SET observed_at = ?, observe_error = ? WHERE id = ?",
                           (_now(), error, ds.id))
            else:
                db.execute("UPDATE datasources SET object_count = ?, bytes = ?, newest_object_at = ?,"
                           " stats_complete = ?, observed_at = ?, observe_error = NULL WHERE id = ?",
                           (stats.objects, stats.bytes, stats.newest, int(stats.complete), _now(), ds.id))
        return self.get(ds.name) or ds
