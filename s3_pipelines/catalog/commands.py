"""`s3-pipelines catalog export|audit`: read a catalog target (the CLI only parses arguments)."""

from __future__ import annotations

import json

from ..config.models import PipelinesConfig
from ..targets import open_target, sql_connections, target_types
from .entities import entity_config
from .export import audit_rows, export_entities


OPTIONAL_FIELDS = ("icon", "team")  # Port's entity fields that most entities leave unset


def without_empty(entity: dict) -> dict:
    """An entity as Port shows it: `icon` and `team` only when they hold something."""
    return {k: v for k, v in entity.items() if not (k in OPTIONAL_FIELDS and v is None)}


def catalog_target_name(cfg: PipelinesConfig, explicit: str | None, blueprint: str | None = None) -> str:
    """--target, else the catalog the blueprint's mappings write to, else the only catalog."""
    catalogs = sql_connections(cfg.connections)
    if explicit is not None:
        if explicit not in catalogs:
            raise ValueError(f"no {target_types()} connection named {explicit!r} (catalogs: {', '.join(catalogs) or 'none'})")
        return explicit
    if blueprint is not None:
        used = sorted({m.target for m in entity_config(cfg).mappings if m.blueprint == blueprint})
        if len(used) == 1:
            return used[0]
    if len(catalogs) == 1:
        return catalogs[0]
    raise ValueError(f"several catalogs ({', '.join(catalogs)}): give --target NAME" if catalogs
                     else f"no {target_types()} connection in the config")


def _not_created(cfg: PipelinesConfig, name: str) -> bool:
    """A DuckDB catalog whose file does not exist yet: read-only commands see it empty, not create it."""
    conn = cfg.connections.get(name)
    return getattr(conn, "type", None) == "duckdb" and not cfg.resolve(conn.path).exists()


def export_command(cfg: PipelinesConfig, blueprint: str, target: str | None, fmt: str) -> str:
    _count, pieces = export_pieces(cfg, blueprint, target, fmt)
    return "".join(text for text, _n in pieces)


EXPORT_CHUNK = 1000  # entities per piece: what a progress bar advances by


def export_pieces(cfg: PipelinesConfig, blueprint: str, target: str | None, fmt: str):
    """(entities, pieces): the export's text as (text, entities in it) pieces, which joined are the
    whole document (no final newline); written as they come, a bar can count entities written."""
    ec = entity_config(cfg)
    ec.blueprint(blueprint)  # a clear error for a misspelt name
    name = catalog_target_name(cfg, target, blueprint)
    entities = [] if _not_created(cfg, name) else export_entities(open_target(cfg, name), blueprint)
    return len(entities), (_json_pieces if fmt == "json" else _text_pieces)(entities, blueprint)


def _json_pieces(entities: list[dict], blueprint: str):
    # the text json.dumps(list, indent=2) gives, an entity at a time: each item one level deeper
    yield "[", 0
    for start in range(0, len(entities), EXPORT_CHUNK):
        chunk = entities[start:start + EXPORT_CHUNK]
        items = (json.dumps(without_empty(e), indent=2, ensure_ascii=False).replace("\n", "\n  ") for e in chunk)
        yield (",\n  " if start else "\n  ") + ",\n  ".join(items), len(chunk)
    yield ("\n]" if entities else "]"), 0


def _text_pieces(entities: list[dict], blueprint: str):
    yield f"{len(entities)} {blueprint} entit{'y' if len(entities) == 1 else 'ies'}", 0
    for start in range(0, len(entities), EXPORT_CHUNK):
        chunk = entities[start:start + EXPORT_CHUNK]
        yield "".join(f"\n  {e['identifier']}  {e['title'] or ''}" for e in chunk), len(chunk)


def audit_command(cfg: PipelinesConfig, *, status: str | None, mapping: str | None, stream: str | None,
                  limit: int | None, target: str | None, fmt: str) -> str:
    name = catalog_target_name(cfg, target)
    rows = [] if _not_created(cfg, name) else audit_rows(
        open_target(cfg, name), status=status, mapping=mapping, stream=stream, limit=limit,
        newest_first=limit is not None)
    if limit is not None:
        rows.reverse()  # the newest `limit` rows, printed oldest first
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    lines = [f"{len(rows)} audit row(s)"]
    for r in rows:
        where = f"{r['object_key']}:{r['line']}" if r["line"] is not None else r["object_key"]
        lines.append(f"  {r['time']}  {r['status']:<7} {r['action']:<6} {r['mapping']} {r['blueprint']} "
                     f"{r['identifier']!s}  {where}" + (f"  {r['message']}" if r["message"] else ""))
    return "\n".join(lines)
