"""Reading a catalog: entities in Port's shape, counts, and the audit log."""

from __future__ import annotations

from ..targets import SqlTarget
from .codec import from_json
from .schema import AUDIT, AUDIT_COLUMNS, ENTITIES, ensure_catalog

EXPORT_FIELDS = ("blueprint", "identifier", "title", "icon", "team", "properties", "relations")


def export_entities(target: SqlTarget, blueprint: str | None = None) -> list[dict]:
    """Entities as `{blueprint, identifier, title, icon, team, properties, relations}`, ordered by
    identifier (then blueprint) by code point, the same on every dialect."""
    ensure_catalog(target)
    sql = f"SELECT {', '.join(EXPORT_FIELDS)} FROM {ENTITIES}"
    params: tuple = ()
    if blueprint is not None:
        sql, params = sql + " WHERE blueprint = ?", (blueprint,)
    with target.transaction() as tx:
        rows = tx.query_arrow(sql, params).to_pylist()
    out = []
    for r in rows:
        for c in ("team", "properties", "relations"):
            r[c] = from_json(r[c])
        out.append({k: r[k] for k in EXPORT_FIELDS})
    out.sort(key=lambda e: (e["identifier"], e["blueprint"]))
    return out


def entity_counts(target: SqlTarget) -> dict[str, int]:
    ensure_catalog(target)
    with target.transaction() as tx:
        return {bp: int(n) for bp, n in tx.execute(f"SELECT blueprint, COUNT(*) FROM {ENTITIES} GROUP BY blueprint")}


def audit_rows(target: SqlTarget, *, status: str | None = None, mapping: str | None = None,
               stream: str | None = None, partition: str | None = None, limit: int | None = None,
               newest_first: bool = False) -> list[dict]:
    """Audit rows, oldest first (or newest first), each a dict of AUDIT_COLUMNS with `time` as ISO text."""
    ensure_catalog(target)
    where, params = [], []
    for col, value in (("status", status.upper() if status else None), ("mapping", mapping),
                       ("stream", stream), ("partition_key", partition)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    order = "DESC" if newest_first else "ASC"
    sql = (f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT}" + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY time {order}, object_key {order}, seq {order}")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with target.transaction() as tx:
        rows = tx.query_arrow(sql, tuple(params)).to_pylist()
    for r in rows:
        r["time"] = r["time"].isoformat() if r["time"] is not None else None
    return rows


def failure_counts(target: SqlTarget, mapping: str, stream: str, partition: str) -> dict[tuple[str, str], int]:
    """(object key, etag) -> audit failures of a mapping in a partition (callers keep the current versions)."""
    ensure_catalog(target)
    with target.transaction() as tx:
        rows = tx.execute(f"SELECT object_key, etag, COUNT(*) FROM {AUDIT} WHERE mapping = ? AND stream = ?"
                          " AND partition_key = ? AND status = 'FAILURE' GROUP BY object_key, etag",
                          (mapping, stream, partition))
    return {(k, e): int(n) for k, e, n in rows}
