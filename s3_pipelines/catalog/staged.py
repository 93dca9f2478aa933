"""An object's entities applied in bounded chunks, still exactly once.

A large object's bulk-path rows (entities, relation edges, audit rows) are written chunk by chunk
into scratch tables of their own load (`s3p_stage_<load>_e|_r|_a`), each chunk committed alone, so
the database never holds more than one chunk uncommitted. Nobody reads those tables: exports,
audits and joins read `s3p_entities`, `s3p_entity_relations` and `s3p_audit` only. The load is
published in one short final transaction: the staged rows are copied into the catalog's tables
with `INSERT ... SELECT` inside the database, the scratch tables dropped, and the object's load
mark written — so a crash at any point leaves either nothing of the object visible or all of it.

Where scratch tables are temporary (DuckDB: `Tx.scratch_is_temporary`, on the connection the
load's session holds) a chunk's commit writes no WAL for them, and a crash takes them with the
connection: nothing is left to drop or to list. Elsewhere (PostgreSQL: UNLOGGED tables)
`s3p_pending_loads` lists the loads in flight; the next apply of the same object (consumer,
bucket, key) drops the scratch tables of any earlier load of it (a dead run's leftovers) before
starting its own, and a publish first checks that its own load is still the pending one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from ..objects import S3Object
from ..targets import Tx, qident
from .schema import AUDIT, AUDIT_COLUMNS, ENTITIES, ENTITY_COLUMNS, PENDING, RELATION_COLUMNS, RELATIONS

# the catalog table -> (suffix of its scratch table, its columns)
_PARTS = {ENTITIES: ("e", ENTITY_COLUMNS), RELATIONS: ("r", RELATION_COLUMNS), AUDIT: ("a", AUDIT_COLUMNS)}


def _scratch(load_id: str, table: str) -> str:
    return f"s3p_stage_{load_id}_{_PARTS[table][0]}"


@dataclass
class StagedLoad:
    load_id: str
    consumer: str
    obj: S3Object
    temporary: bool = False  # scratch tables of the connection: not listed in s3p_pending_loads

    @property
    def tables(self) -> tuple[str, str, str]:
        """(entities, relations, audit) as the writer's bulk path writes them for this load."""
        return tuple(_scratch(self.load_id, t) for t in (ENTITIES, RELATIONS, AUDIT))  # type: ignore[return-value]

    @classmethod
    def begin(cls, tx: Tx, consumer: str, obj: S3Object, run_id: str | None) -> "StagedLoad":
        """In `tx` (which holds the object's lock key): drop earlier loads of this object, then
        register a new one with empty scratch tables."""
        drop_loads(tx, consumer, obj.bucket, obj.key)
        load = cls(uuid.uuid4().hex[:16], consumer, obj, tx.scratch_is_temporary)
        for table in _PARTS:
            tx.create_scratch_table(_scratch(load.load_id, table), f"SELECT * FROM {table} WHERE 1 = 0")
        if load.temporary:
            return load
        tx.execute(f"INSERT INTO {PENDING} (load_id, consumer, bucket, key, etag, run_id, started_at)"
                   " VALUES (?,?,?,?,?,?,?)", (load.load_id, consumer, obj.bucket, obj.key, obj.etag, run_id,
                                               dt.datetime.now(dt.timezone.utc)))
        return load

    def is_pending(self, tx: Tx) -> bool:
        if self.temporary:  # no other connection can see, let alone drop, this connection's tables
            return True
        return bool(tx.execute(f"SELECT 1 FROM {PENDING} WHERE load_id = ?", (self.load_id,)))

    def publish(self, tx: Tx, audit_rows: int) -> None:
        """Copy the staged rows into the catalog's tables and drop this load (in `tx`, which then
        writes the load mark and commits). `audit_rows`: how many the chunks committed (a scratch
        table that lost rows — e.g. an unlogged one after a server crash — is refused)."""
        (have,), = tx.execute(f"SELECT COUNT(*) FROM {_scratch(self.load_id, AUDIT)}")
        if int(have) != audit_rows:
            raise RuntimeError(f"staged load {self.load_id} of s3://{self.obj.bucket}/{self.obj.key} holds {have}"
                               f" audit rows, {audit_rows} were written: applying the object again")
        for table, (_, cols) in _PARTS.items():
            names = ", ".join(qident(c) for c in cols)
            order = " ORDER BY seq" if table == AUDIT else ""
            tx.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {_scratch(self.load_id, table)}{order}")
        self.drop(tx)

    def drop(self, tx: Tx) -> None:
        _drop(tx, self.load_id)


def _drop(tx: Tx, load_id: str) -> None:
    for table in _PARTS:
        tx.execute(f"DROP TABLE IF EXISTS {_scratch(load_id, table)}")
    tx.execute(f"DELETE FROM {PENDING} WHERE load_id = ?", (load_id,))


def drop_loads(tx: Tx, consumer: str, bucket: str, key: str) -> list[str]:
    """Drop every pending load of one object (a dead run's leftovers); their ids."""
    ids = [r[0] for r in tx.execute(f"SELECT load_id FROM {PENDING} WHERE consumer = ? AND bucket = ? AND key = ?",
                                    (consumer, bucket, key))]
    for load_id in ids:
        _drop(tx, load_id)
    return ids


def drop_loads_if_any(tx: Tx, consumer: str, obj: S3Object) -> None:
    drop_loads(tx, consumer, obj.bucket, obj.key)


def pending_loads(tx: Tx) -> list[tuple]:
    """(load_id, consumer, bucket, key, etag, run_id, started_at) of the loads in flight (or dead)."""
    return [tuple(r) for r in tx.execute(f"SELECT load_id, consumer, bucket, key, etag, run_id, started_at"
                                         f" FROM {PENDING} ORDER BY started_at")]
