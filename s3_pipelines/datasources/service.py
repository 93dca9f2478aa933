"""What the CLI and Dagster do with data sources: create (reachability and overlap checks), delete
(disable, then remove), register the file's, observe (list a prefix for its counts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ..config.models import PipelinesConfig
from ..connections.s3 import S3AccessError, S3Client
from ..selection import is_folder_marker
from .store import (NAME_RE, NAME_RULE, SCAN_PAGES, DataSource, DataSourceError, PrefixStats, Registry, check_new,
                    os_user)


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
    check_new(registry.all(), name, connection, prefix)  # before S3 is asked; again under the write lock
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
