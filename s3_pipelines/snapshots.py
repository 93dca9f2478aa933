"""Snapshot streams (Polytomic's single-table and directory snapshots): every object is a full
snapshot of one table, ordered by a time (LastModified, or a time in the key); the newest is the
current state.

Loading a snapshot replaces the table's rows in one transaction of the target, with the target's
mark of the snapshot applied (`s3p_snapshots`) written in it too, and reports inserted / updated /
deleted rows by primary key (or by a hash of the row when there is none). The candidate is the
newest live snapshot the ledger knows; an older one arriving late is never applied (its ledger row
becomes `superseded`). Directory mode: each directory matching `directory_glob_pattern` is one
table, `<stream>__<directory>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .config.models import PipelinesConfig, StreamConfig
from .config.snapshots import SnapshotConfig
from .ingest import S3ObjectSource, read_options
from .ledger import Ledger, LedgerRow
from .objects import ObjectChangedError, S3Object
from .readers import PROVENANCE, read_batches
from .selection import glob_to_regex, static_prefix
from .targets import SqlTarget, Tx, qident, sql_connections

MARKS = "s3p_snapshots"
PK, HASH = "_s3_pk", "_s3_row_hash"
INCOMING = "s3p_snapshot_incoming"
CANDIDATES = ("pending", "loading", "loaded", "superseded")  # versions still in S3


# --- which table, which time ------------------------------------------------------------------


def directory_of(snap: SnapshotConfig, conn_prefix: str, key: str) -> str | None:
    """The snapshot directory (relative to the connection prefix, ending in /) holding `key`;
    '' in single-table mode; None when no directory of the pattern holds it."""
    if snap.mode == "single_table":
        return ""
    if not key.startswith(conn_prefix):
        return None
    rel = key[len(conn_prefix):]
    rx = glob_to_regex(snap.directory_glob_pattern.rstrip("/"))
    parts = rel.split("/")
    for i in range(1, len(parts)):
        d = "/".join(parts[:i])
        if rx.match(d):
            return d + "/"
    return None


def table_name(stream: str, snap: SnapshotConfig, directory: str) -> str:
    if snap.mode == "single_table":
        return snap.table or stream
    return f"{stream}__{slug(snap, directory)}"


def slug(snap: SnapshotConfig, directory: str) -> str:
    """A directory's name in asset keys and tables: what the pattern's wildcards matched
    (`exports/*/` and `exports/teams/` -> `teams`)."""
    fixed = static_prefix(snap.directory_glob_pattern or "")
    rest = directory[len(fixed):] if directory.startswith(fixed) else directory
    return re.sub(r"\W+", "_", rest.strip("/")).strip("_") or "root"


def target_of(cfg: PipelinesConfig, snap: SnapshotConfig) -> str:
    if snap.target:
        return snap.target
    sql = sql_connections(cfg.connections)
    if len(sql) != 1:
        raise ValueError("snapshot.target: required when there is not exactly one SQL connection")
    return sql[0]


def snapshot_time(snap: SnapshotConfig, obj: S3Object) -> dt.datetime | None:
    """When the snapshot was taken; None when the key holds no time of the pattern."""
    if snap.time_from == "last_modified":
        return obj.last_modified
    m = re.search(snap.key_time_regex, obj.key)
    if not m:
        return None
    text = m.group("time") if "time" in m.re.groupindex else (m.group(1) if m.re.groups else m.group(0))
    try:
        t = dt.datetime.strptime(text, snap.key_time_format) if snap.key_time_format else dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


# --- one load ------------------------------------------------------------------------------------


@dataclass
class SnapshotReport:
    table: str
    status: str = "no_snapshot"  # applied | current | no_snapshot | emptied (all removed, delete_rows)
    key: str | None = None
    snapshot_time: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    ignored_older: list[str] = field(default_factory=list)  # snapshots older than the current one
    unordered: list[str] = field(default_factory=list)  # keys without a time of the pattern


def load_snapshot(cfg: PipelinesConfig, name: str, directory: str, client, target: SqlTarget, ledger: Ledger,
                  run_id: str | None = None, log: Callable[[str], None] = lambda m: None) -> SnapshotReport:
    stream = cfg.streams[name]
    snap = stream.snapshot
    table = table_name(name, snap, directory)
    report = SnapshotReport(table)
    rows = [r for r in ledger.rows(name) if r.status in CANDIDATES
            and directory_of(snap, client.conn.prefix, r.obj.key) == directory]
    timed = []
    for r in rows:
        t = snapshot_time(snap, r.obj)
        (timed.append((t, r.obj.last_modified, r.obj.key, r)) if t else report.unordered.append(r.obj.key))
    timed.sort(key=lambda x: x[:3])
    while timed:
        t_new, _, _, newest = timed[-1]
        report.key, report.snapshot_time = newest.obj.key, t_new.isoformat()
        try:
            _apply(tx_target=target, table=table, name=name, stream=stream, client=client, newest=newest,
                   t_new=t_new, rows=rows, run_id=run_id, report=report)
            break
        except ObjectChangedError as e:  # deleted (or rewritten) since registered: the next newest
            ledger.finish(name, newest.obj, status="changed", error=str(e), run_id=run_id)
            log(f"{table}: {e}; trying the next newest snapshot")
            timed.pop()
            report.inserted = report.updated = report.deleted = report.rows = 0
    if not timed:  # no snapshot left (all removed, or none yet)
        report.key = report.snapshot_time = None
        if stream.on_remove == "delete_rows":
            _empty(target, table, report)
        return report
    # the ledger follows the target: the newest is loaded, every other version superseded
    if newest.status != "loaded":
        ledger.finish(name, newest.obj, status="loaded", rows=report.rows, run_id=run_id)
    for _, _, _, r in timed[:-1]:
        if r.status != "superseded":
            ledger.finish(name, r.obj, status="superseded", run_id=run_id,
                          error=f"older than snapshot {newest.obj.key}")
            if r.status == "pending":
                report.ignored_older.append(r.obj.key)
    log(f"{table}: {report.status} {report.key} ({report.inserted} inserted, {report.updated} updated, "
        f"{report.deleted} deleted); {len(report.ignored_older)} older snapshot(s) ignored")
    return report


def _apply(*, tx_target: SqlTarget, table: str, name: str, stream: StreamConfig, client, newest: LedgerRow,
           t_new: dt.datetime, rows: list[LedgerRow], run_id: str | None, report: SnapshotReport) -> None:
    """In one transaction: the table becomes `newest` unless it holds it (or a newer one) already."""
    with tx_target.transaction() as tx:
        tx.execute(f"CREATE TABLE IF NOT EXISTS {MARKS} (table_name TEXT PRIMARY KEY, stream TEXT, bucket TEXT,"
                   " key TEXT, etag TEXT, snapshot_time TEXT, rows BIGINT, run_id TEXT, applied_at TEXT)")
        tx.lock_table(MARKS)
        mark = tx.execute(f"SELECT key, etag, snapshot_time FROM {MARKS} WHERE table_name=?", (table,))
        if mark and ((mark[0][0], mark[0][1]) == (newest.obj.key, newest.obj.etag)
                     or (mark[0][2] > t_new.isoformat() and _live(rows, mark[0][0], mark[0][1]))):
            report.status = "current"  # the table holds this snapshot (or a newer one) already
            if tx.table_columns(table) is not None:
                report.rows = tx.execute(f"SELECT count(*) FROM {qident(table)}")[0][0]
            return
        _replace(tx, table, _batches(client, stream, newest.obj), stream.snapshot.primary_key, report)
        tx.execute(f"DELETE FROM {MARKS} WHERE table_name=?", (table,))
        tx.execute(f"INSERT INTO {MARKS} VALUES (?,?,?,?,?,?,?,?,?)",
                   (table, name, newest.obj.bucket, newest.obj.key, newest.obj.etag, t_new.isoformat(),
                    report.rows, run_id, dt.datetime.now(dt.timezone.utc).isoformat()))
        report.status = "applied"


def _empty(target: SqlTarget, table: str, report: SnapshotReport) -> None:
    with target.transaction() as tx:
        if tx.table_columns(MARKS) is None or tx.table_columns(table) is None:
            return
        tx.lock_table(MARKS)
        if not tx.execute(f"SELECT 1 FROM {MARKS} WHERE table_name=?", (table,)):
            return
        report.deleted = tx.execute(f"SELECT count(DISTINCT {PK}) FROM {qident(table)}")[0][0]
        tx.execute(f"DELETE FROM {qident(table)}")
        tx.execute(f"DELETE FROM {MARKS} WHERE table_name=?", (table,))
        report.status = "emptied"


def _live(rows: list[LedgerRow], key: str, etag: str) -> bool:
    return any(r.obj.key == key and r.obj.etag == etag for r in rows)


def _batches(client, stream: StreamConfig, obj: S3Object) -> Iterator[pa.RecordBatch]:
    bad: list = []
    yield from read_batches(S3ObjectSource(client, obj), obj, read_options(stream), bad.append)


# --- rows: typed columns + primary key + row hash -----------------------------------------------

def _sql_type(t: pa.DataType) -> tuple[str, pa.DataType]:
    if pa.types.is_integer(t):
        return "BIGINT", pa.int64()
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION", pa.float64()
    if pa.types.is_boolean(t):
        return "BOOLEAN", pa.bool_()
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE", pa.timestamp("us", tz="UTC")
    if pa.types.is_date(t):
        return "DATE", pa.date32()
    return "TEXT", pa.string()


def _conform(batch: pa.RecordBatch, columns: dict[str, tuple[str, pa.DataType]], pk: list[str] | None) -> pa.Table:
    rows = batch.to_pylist()
    hashes = [hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()[:32] for r in rows]
    if pk:
        missing = [c for c in pk if c not in batch.schema.names]
        if missing:
            raise ValueError(f"primary key column(s) {', '.join(missing)} not in the snapshot")
        keys = [json.dumps([r[c] for c in pk], default=str) for r in rows]
    else:
        keys = hashes
    arrays = {}
    for name, (_, arrow_type) in columns.items():
        if name not in batch.schema.names:
            arrays[name] = pa.nulls(batch.num_rows, arrow_type)
            continue
        col = batch.column(name)
        if arrow_type == pa.string() and not pa.types.is_string(col.type):
            values = [v if v is None or isinstance(v, str) else json.dumps(v, default=str) for v in col.to_pylist()]
            arrays[name] = pa.array(values, pa.string())
        else:
            arrays[name] = pc.cast(col, arrow_type)
    arrays[PK], arrays[HASH] = pa.array(keys, pa.string()), pa.array(hashes, pa.string())
    return pa.table(arrays)


def _replace(tx: Tx, table: str, batches: Iterator[pa.RecordBatch], pk: list[str] | None, report: SnapshotReport) -> None:
    columns: dict[str, tuple[str, pa.DataType]] | None = None
    for batch in batches:
        batch = batch.select([n for n in batch.schema.names if n not in PROVENANCE])
        if columns is None:
            columns = {f.name: _sql_type(f.type) for f in batch.schema}
            _create(tx, INCOMING, columns, temp=True)
        data = _conform(batch, columns, pk)
        if data.num_rows:
            tx.insert_arrow(INCOMING, data)
            report.rows += data.num_rows
    if columns is None:  # an empty snapshot: the table becomes empty
        columns = {}
        _create(tx, INCOMING, columns, temp=True)
    t = qident(table)
    if tx.table_columns(table) is not None:
        n, o = qident(INCOMING), t
        report.inserted = tx.execute(f"SELECT count(DISTINCT {PK}) FROM {n} WHERE {PK} NOT IN (SELECT {PK} FROM {o})")[0][0]
        report.deleted = tx.execute(f"SELECT count(DISTINCT {PK}) FROM {o} WHERE {PK} NOT IN (SELECT {PK} FROM {n})")[0][0]
        report.updated = tx.execute(f"SELECT count(DISTINCT x.{PK}) FROM {n} x JOIN {o} y ON x.{PK} = y.{PK}"
                                    f" WHERE x.{HASH} <> y.{HASH}")[0][0]
        tx.execute(f"DROP TABLE {t}")
    else:
        report.inserted = tx.execute(f"SELECT count(DISTINCT {PK}) FROM {qident(INCOMING)}")[0][0]
    _create(tx, table, columns, temp=False)
    tx.execute(f"INSERT INTO {t} SELECT * FROM {qident(INCOMING)}")
    tx.execute(f"DROP TABLE {qident(INCOMING)}")


def _create(tx: Tx, table: str, columns: dict[str, tuple[str, pa.DataType]], temp: bool) -> None:
    defs = ", ".join([f"{qident(n)} {sql}" for n, (sql, _) in columns.items()] + [f"{PK} TEXT", f"{HASH} TEXT"])
    if temp:
        tx.execute(f"DROP TABLE IF EXISTS {qident(table)}")
        tx.execute(f"CREATE TEMP TABLE {qident(table)} ({defs}){tx.temp_table_suffix}")
    else:
        tx.execute(f"CREATE TABLE {qident(table)} ({defs})")
