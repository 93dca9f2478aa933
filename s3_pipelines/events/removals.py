"""`on_remove` of a stream, applied to the versions of an object that S3 no longer has.

- keep: the ledger says `removed`; what the object loaded stays (audited as kept);
- delete_rows: its staged records are removed; catalog entities it wrote last (`object_key`) are
  deleted with an audit row each, and its load mark is dropped; a snapshot stream's table is
  replaced by the newest remaining snapshot (its snapshot run does it). Polaris tables cannot tell
  an object's rows apart (rollups merge them), so their rows stay: audited as not supported.
Every decision goes to the ledger's `removals` table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ..catalog.entities import entity_config
from ..catalog.schema import AUDIT, ENTITIES, RELATIONS, ensure_catalog
from ..config.models import PipelinesConfig
from ..config.tables import source_stream_name
from ..ledger import LedgerRow
from ..targets import LOADS_TABLE
from ..targets.registry import open_target
from .store import EventStore


def apply_on_remove(cfg: PipelinesConfig, stream: str, rows: list[LedgerRow], store: EventStore, staging=None,
                    log: Callable[[str], None] = lambda m: None) -> None:
    if not rows:
        return
    conf = cfg.streams[stream]
    if conf.on_remove == "keep":
        for r in rows:
            store.audit_removal(stream, r, "kept", "on_remove is keep")
        return
    for r in rows:
        if staging is not None and r.staged:
            staging.remove(r.staged)
            store.audit_removal(stream, r, "staged_removed", f"{len(r.staged)} staged file(s)")
    if conf.snapshot is not None:
        for r in rows:
            store.audit_removal(stream, r, "snapshot_reapplied", "the newest remaining snapshot replaces the table")
    for spec in entity_config(cfg).mappings if cfg.mappings else []:
        if spec.stream == stream:
            for r in rows:
                n = delete_entities(cfg, spec.target, spec.name, spec.consumer, stream, r)
                store.audit_removal(stream, r, "entities_deleted", f"mapping {spec.name}: {n} entit(ies)")
                log(f"{stream}: {r.obj.key} removed: {n} entit(ies) of mapping {spec.name} deleted")
    for name, table in cfg.tables.items():
        if source_stream_name(name, table) == stream:
            for r in rows:
                store.audit_removal(stream, r, "not_supported",
                                    f"table {name}: rows are not traceable to one object; they stay")


def delete_entities(cfg: PipelinesConfig, target_name: str, mapping: str, consumer: str, stream: str,
                    r: LedgerRow) -> int:
    """Entities of `mapping` last written by this object, deleted in one transaction with their
    relation rows, audit rows and the object's load mark."""
    target = open_target(cfg, target_name)
    ensure_catalog(target)
    target.ensure_loads_table()
    now = dt.datetime.now(dt.timezone.utc)
    with target.transaction() as tx:
        tx.lock_key(f"{consumer} s3://{r.obj.bucket}/{r.obj.key}")
        found = tx.execute(f"SELECT blueprint, identifier FROM {ENTITIES} WHERE mapping=? AND object_key=?",
                           (mapping, r.obj.key))
        for bp, ident in found:
            tx.execute(f"DELETE FROM {RELATIONS} WHERE blueprint=? AND identifier=?", (bp, ident))
            tx.execute(f"DELETE FROM {ENTITIES} WHERE blueprint=? AND identifier=?", (bp, ident))
            tx.execute(f"INSERT INTO {AUDIT} (time, run_id, stream, partition_key, object_key, etag, line, seq, mapping,"
                       " blueprint, identifier, action, status, message) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (now, None, stream, r.partition_key, r.obj.key, r.obj.etag, None, None, mapping, bp, ident,
                        "delete", "success", "the object was removed from S3 (on_remove: delete_rows)"))
        tx.execute(f"DELETE FROM {LOADS_TABLE} WHERE consumer=? AND bucket=? AND key=?",
                   (consumer, r.obj.bucket, r.obj.key))
    return len(found)
