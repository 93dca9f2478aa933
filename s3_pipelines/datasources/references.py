"""The file's references to data sources: `datasources:` checked, and streams selecting a data
source given its prefix (from the file or the registry); `s3_pipelines.check` reports the problems."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from .store import NAME_RE, NAME_RULE, Registry, overlaps


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
    registry = Registry.open_existing(cfg) if need_db or cfg.datasources else None
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
