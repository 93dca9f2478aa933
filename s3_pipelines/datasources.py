"""The data source registry (Immuta's native S3 data sources, seed 004): named prefixes of S3
connections, kept in the state database beside the load ledger, with an audit table of every change.

- from the file (`datasources:`) and from the CLI (`s3-pipelines datasources create`);
- `create` checks that the prefix is reachable with the connection's credentials (a list call) and
  that no active data source of that connection has the same or an overlapping prefix;
- the first `delete` disables (the sensors of streams selecting it skip, its asset says disabled),
  the second removes it (`validate` then reports the streams still naming it);
- object count, bytes and the newest object's time come from a listing (at create, and on every
  tick of the observation sensor in Dagster).

A data source's prefix is relative to its connection's prefix, like every prefix in `select`.
SQL is plain (no upserts, no engine-specific types) and runs through the ledger's transactions.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config.models import PipelinesConfig
from .connections.s3 import S3AccessError, S3Client
from .ledger import Ledger
from .selection import is_folder_marker
from .state import Migration

# versioned like the ledger's tables (component "datasources" in schema_version); append a step
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


def scan_prefix(client: S3Client, full_prefix: str, max_pages: int | None = SCAN_PAGES) -> PrefixStats:
    """Objects, bytes and the newest LastModified under a full key prefix (S3AccessError when the
    credentials cannot list it). The first request is also the reachability check."""
    count = size = pages = 0
    newest: dt.datetime | None = None
    token = None
    while True:
        page, token = client.list_page(full_prefix, token=token)
        pages += 1
        for o in page:
            if is_folder_marker(o.key):
                continue
            count, size = count + 1, size + o.size
            newest = o.last_modified if newest is None or o.last_modified > newest else newest
        if token is None or (max_pages is not None and pages >= max_pages):
            break
    return PrefixStats(count, size, newest.isoformat() if newest else None, token is None)


def overlaps(a: str, b: str) -> bool:
    """Two prefixes overlap when one lies under the other (the same prefix included)."""
    return a.startswith(b) or b.startswith(a)


def state_database(cfg: PipelinesConfig):
    """The configured state database (URL or secret), None for the embedded SQLite file."""
    return cfg.state_database() if hasattr(cfg, "state_database") else None


def open_ledger(cfg: PipelinesConfig) -> Ledger:
    db = state_database(cfg)
    if db is None:
        return Ledger(cfg.ledger_path())
    return Ledger(db if isinstance(db, str) else db.resolve(), schema=getattr(cfg.state, "schema_name", None))


def state_exists(cfg: PipelinesConfig) -> bool:
    """Whether there is a state database to read (an embedded file is not created just to read it)."""
    return state_database(cfg) is not None or Path(cfg.ledger_path()).exists()


class Registry:
    """The two tables, through the ledger's connection and transactions."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        ledger.db.migrate("datasources", MIGRATIONS)

    @classmethod
    def open(cls, cfg: PipelinesConfig) -> "Registry":
        return cls(open_ledger(cfg))

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
            rows = [self._row(r) for r in db.execute(f"SELECT {', '.join(COLUMNS)} FROM datasources")]
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


# --- what the CLI and Dagster do -------------------------------------------------------------

ClientFor = Callable[[str], S3Client]


def default_client_for(cfg: PipelinesConfig) -> ClientFor:
    clients: dict[str, S3Client] = {}

    def client_for(connection: str) -> S3Client:
        if connection not in clients:
            clients[connection] = S3Client.from_config(cfg.s3_connection(connection))
        return clients[connection]

    return client_for


def _check_connection(cfg: PipelinesConfig, connection: str) -> None:
    conn = cfg.connections.get(connection)
    if conn is None or conn.type != "s3":
        s3 = ", ".join(n for n, c in cfg.connections.items() if c.type == "s3") or "none"
        raise DataSourceError(f"no s3 connection named {connection!r} (s3 connections: {s3})")


def normalize_prefix(prefix: str) -> str:
    p = prefix.lstrip("/")
    if not p or ".." in p.split("/"):
        raise DataSourceError(f"prefix {prefix!r}: must be non-empty and must not contain '..'")
    return p


def create(cfg: PipelinesConfig, name: str, connection: str, prefix: str, *, registry: Registry | None = None,
           client_for: ClientFor | None = None, origin: str = "cli", description: str | None = None,
           user: str | None = None) -> DataSource:
    """Register a prefix after checking the name, the connection, that the prefix is reachable
    with the connection's credentials, and that it overlaps no active data source of the connection."""
    if not NAME_RE.match(name):
        raise DataSourceError(f"{name!r}: {NAME_RULE}")
    _check_connection(cfg, connection)
    prefix = normalize_prefix(prefix)
    registry = registry or Registry.open(cfg)
    user = user or os_user()
    if name in cfg.datasources and origin == "cli":
        raise DataSourceError(f"data source {name!r} is declared in {cfg.source_path or 'the config'} (datasources:)")
    # the cheap checks first, so a clash is reported without touching S3 (and again under the lock)
    for d in registry.all():
        if d.name == name or (d.connection == connection and not d.disabled and overlaps(prefix, d.prefix)):
            registry.insert(name, connection, prefix, origin, user, description)  # raises the precise error
    client = (client_for or default_client_for(cfg))(connection)
    full = cfg.s3_connection(connection).prefix + prefix
    try:
        stats = scan_prefix(client, full)
    except S3AccessError as e:
        raise DataSourceError(f"prefix s3://{client.bucket}/{full} is not reachable with connection "
                              f"{connection!r}: {e}") from None
    return registry.insert(name, connection, prefix, origin, user, description, stats)


def delete(cfg: PipelinesConfig, name: str, *, registry: Registry | None = None,
           user: str | None = None) -> tuple[str, DataSource]:
    """First call disables (soft delete), the second removes (hard delete). Returns the action
    (`disabled` or `deleted`) and the data source as it was after the action."""
    registry = registry or Registry.open(cfg)
    sync_config(cfg, registry)
    ds = registry.get(name)
    if ds is None:
        raise DataSourceError(f"no data source named {name!r}")
    user = user or os_user()
    if not ds.disabled:
        return "disabled", registry.disable(ds, user)
    if name in cfg.datasources:
        raise DataSourceError(f"data source {name!r} is disabled and declared in {cfg.source_path or 'the config'} "
                              "(datasources:): remove it there, then delete it again")
    registry.remove(ds, user)
    return "deleted", ds


def sync_config(cfg: PipelinesConfig, registry: Registry, user: str | None = None) -> list[str]:
    """Register the file's data sources the database does not hold yet (and follow edits of their
    prefix); returns problems (a name the CLI already uses, an overlap) instead of raising."""
    problems = []
    for name, d in cfg.datasources.items():
        have = registry.get(name)
        try:
            if have is None:
                _check_connection(cfg, d.connection)
                registry.insert(name, d.connection, d.prefix, "config", user or os_user(), d.description)
            elif have.origin != "config":
                problems.append(f"datasources.{name}: a data source of that name was created with the CLI "
                                f"(connection {have.connection!r}, prefix {have.prefix!r}): rename one")
            elif (have.connection, have.prefix, have.description) != (d.connection, d.prefix, d.description):
                registry.update_from_config(have, d.connection, d.prefix, d.description, user or os_user())
        except DataSourceError as e:
            problems.append(f"datasources.{name}: {e}")
    return problems


def observe(cfg: PipelinesConfig, registry: Registry, ds: DataSource, client_for: ClientFor) -> DataSource:
    """Refresh object count, bytes and newest object time (errors are recorded, not raised)."""
    try:
        client = client_for(ds.connection)
        return registry.record_stats(ds, scan_prefix(client, ds.full_prefix(cfg)))
    except (S3AccessError, KeyError, AssertionError) as e:
        return registry.record_stats(ds, None, str(e) or type(e).__name__)


# --- the file's references -------------------------------------------------------------------


def config_problems(data: dict) -> list[str]:
    """`datasources:` of the file's data: names, connections, overlaps among themselves."""
    sources = data.get("datasources") if isinstance(data.get("datasources"), dict) else {}
    conns = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    problems, seen = [], []
    for name, d in sources.items():
        if not NAME_RE.match(str(name)):
            problems.append(f"datasources.{name}: {NAME_RULE}")
        if not isinstance(d, dict):
            continue
        conn = conns.get(d.get("connection"))
        if not isinstance(conn, dict) or conn.get("type") != "s3":
            problems.append(f"datasources.{name}.connection: no s3 connection named {d.get('connection')!r}")
        prefix = str(d.get("prefix") or "").lstrip("/")
        for other, oconn, oprefix in seen:
            if oconn == d.get("connection") and prefix and overlaps(prefix, oprefix):
                problems.append(f"datasources.{name}.prefix: {prefix!r} overlaps data source {other!r} ({oprefix!r})")
        seen.append((name, d.get("connection"), prefix))
    return problems


def resolve_streams(cfg: PipelinesConfig) -> list[str]:
    """Give streams selecting a data source its prefix; problems for the ones naming a data source
    that does not exist (any more), or one of another connection. Reads the registry only when
    some stream needs it, and never creates the database for that."""
    problems = []
    wanted = {n: s for n, s in cfg.streams.items() if s.select.datasource is not None}
    need_db = any(s.select.datasource not in cfg.datasources for s in wanted.values())
    registry = Registry.open(cfg) if (need_db or cfg.datasources) and state_exists(cfg) else None
    if registry is not None:
        problems += [p for p in _active_overlaps(cfg, registry)]
    for name, stream in wanted.items():
        where = f"streams.{name}.select.datasource"
        ds_name = stream.select.datasource
        if ds_name in cfg.datasources:
            conn, prefix = cfg.datasources[ds_name].connection, cfg.datasources[ds_name].prefix
        else:
            ds = registry.get(ds_name) if registry is not None else None
            if ds is None:
                gone = [a for a in (registry.audit(ds_name) if registry else []) if a["action"] == "delete"]
                when = f" (deleted {gone[-1]['at']} by {gone[-1]['user']})" if gone else ""
                problems.append(f"{where}: no data source named {ds_name!r}{when}")
                continue
            conn, prefix = ds.connection, ds.prefix
        if conn != stream.connection:
            problems.append(f"{where}: data source {ds_name!r} is of connection {conn!r}, the stream of "
                            f"{stream.connection!r}")
            continue
        stream.select.resolve_datasource(prefix)
    return problems


def _active_overlaps(cfg: PipelinesConfig, registry: Registry) -> list[str]:
    out = []
    for d in registry.all():
        if d.origin == "config" or d.disabled:
            continue
        if d.name in cfg.datasources:
            out.append(f"datasources.{d.name}: a data source of that name was created with the CLI "
                       f"(connection {d.connection!r}, prefix {d.prefix!r}): rename one")
            continue
        for name, c in cfg.datasources.items():
            if c.connection == d.connection and overlaps(c.prefix, d.prefix):
                out.append(f"datasources.{name}.prefix: {c.prefix!r} overlaps data source {d.name!r} "
                           f"({d.prefix!r}, created with the CLI)")
    return out


def streams_naming(cfg: PipelinesConfig, name: str) -> list[str]:
    return [s for s, stream in cfg.streams.items() if stream.select.datasource == name]


def status_reason(registry: Registry, name: str, declared: bool = False) -> str | None:
    """Why the streams of a data source must not run now (None: they may). `declared`: the file
    declares it (it may not be registered yet)."""
    ds = registry.get(name)
    if ds is None:
        return None if declared else f"data source {name!r} was deleted"
    if ds.disabled:
        return f"data source {name!r} is disabled (since {ds.disabled_at}, by {ds.disabled_by})"
    return None
