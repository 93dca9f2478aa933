"""Apply a mapping to the loaded objects of a stream partition: each object version not yet
applied to the target (its load mark, consumer `mapping:<name>`) is read from staging, mapped,
and written with its audit rows and its load mark in one transaction — so an object's entities
land exactly once, and a new version of an object (a new ETag) is applied again."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from ..ledger import Ledger
from ..mapping import CompiledMapping
from ..objects import S3Object
from ..readers.records import RecordTextOmitted
from ..staging import StagingStore
from ..targets import SqlTarget
from .bulk import bulk_create
from .entities import EntityConfig
from .schema import ensure_catalog
from .staged import StagedLoad, drop_loads_if_any
from .writer import AuditContext, CatalogWriter, WriteCounts


@dataclass
class ObjectApplied:
    obj: S3Object
    status: str  # applied | skipped (already applied) | missing (staged files gone: a newer version replaced it)
    records: int = 0
    filtered_out: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)


@dataclass
class PartitionReport:
    mapping: str
    stream: str
    partition: str
    objects: list[ObjectApplied] = field(default_factory=list)

    def total(self) -> WriteCounts:
        t = WriteCounts()
        for o in self.objects:
            t.add(o.counts)
        return t

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.objects)

    @property
    def records(self) -> int:
        return sum(o.records for o in self.objects)

    @property
    def filtered_out(self) -> int:
        return sum(o.filtered_out for o in self.objects)


CHUNK_ROWS_ENV = "S3P_APPLY_CHUNK_ROWS"  # records per committed chunk of a staged load
CHUNK_ROWS = 131_072
KILL_AFTER_CHUNK_ENV = "S3P_TEST_KILL_AFTER_CHUNK"  # tests: SIGKILL this process after committing chunk N


def _chunk_rows() -> int:
    return max(1, int(os.environ.get(CHUNK_ROWS_ENV) or CHUNK_ROWS))


def apply_object(target: SqlTarget, ec: EntityConfig, mapping: CompiledMapping, batches: Iterable[pa.RecordBatch],
                 obj: S3Object, *, stream: str, partition: str | None, run_id: str | None,
                 record_text: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None) -> ObjectApplied:
    """Apply one object version once. An object of at most one chunk of records is applied in one
    transaction; a larger one is staged chunk by chunk and published at the end (catalog/staged.py),
    so the database holds at most one chunk uncommitted. A batch that needs the row path (a merge
    into an existing entity, a repeated identifier, a failure, a delete) makes the publish
    transaction take the rest of the object, as one transaction did before. `record_text`: a
    batch read without its records' texts, with them (staging.with_record_text)."""
    ensure_catalog(target)
    mapping = _Mapper(mapping, record_text)
    limit = _chunk_rows()
    batches = iter(batches)
    first, n = [], 0
    for batch in batches:  # look ahead one chunk: most objects are smaller and need no staging
        first.append(batch)
        n += batch.num_rows
        if n >= limit:
            break
    else:
        return _apply_whole(target, ec, mapping, first, obj, stream=stream, partition=partition, run_id=run_id)
    with target.session():  # the chunks and the publish on one connection (DuckDB: no checkpoint per chunk)
        return _apply_staged(target, ec, mapping, itertools.chain(first, batches), obj, limit,
                             stream=stream, partition=partition, run_id=run_id)


class _Mapper:
    """The mapping, fetching a batch's record texts when one was read without them and jq needs them."""

    def __init__(self, mapping: CompiledMapping, record_text):
        self.spec, self._m, self._text = mapping.spec, mapping, record_text

    def map_batch(self, batch: pa.RecordBatch, key: str, columnar: bool = False):
        try:
            return self._m.map_batch(batch, key, columnar=columnar)
        except RecordTextOmitted:
            if self._text is None:
                raise
            return self._m.map_batch(self._text(batch), key, columnar=columnar)


def _lock(spec, obj: S3Object) -> str:
    return f"{spec.consumer} s3://{obj.bucket}/{obj.key}"


def _apply_batch(writer: CatalogWriter, mapping: _Mapper, batch: pa.RecordBatch, obj: S3Object,
                 done: ObjectApplied, out=None) -> None:
    """One batch: the bulk path, or the row path (`out` given: its mapping output, which the bulk path refused)."""
    row_path = out is not None
    if out is None:
        out = mapping.map_batch(batch, obj.key, columnar=True)
    done.records += batch.num_rows
    done.filtered_out += out.filtered_out
    if row_path or out.columns is None or not bulk_create(writer, out.columns):  # the row path merges and explains
        writer.apply(out.all_results())
    writer.flush_audit()


def _apply_whole(target, ec, mapping, batches, obj, *, stream, partition, run_id) -> ObjectApplied:
    spec = mapping.spec
    with target.transaction() as tx:
        tx.lock_key(_lock(spec, obj))  # two runs applying one object wait
        if tx.is_loaded(spec.consumer, obj):
            return ObjectApplied(obj, "skipped")
        drop_loads_if_any(tx, spec.consumer, obj)  # a dead staged load of this object (a larger version)
        writer = CatalogWriter(tx, ec, spec, AuditContext(run_id, stream, partition, obj.key, obj.etag))
        done = ObjectApplied(obj, "applied", counts=writer.counts)
        for batch in batches:
            _apply_batch(writer, mapping, batch, obj, done)
        tx.mark_loaded(spec.consumer, obj, done.records, run_id)
    return done


def _apply_staged(target, ec, mapping, batches, obj, limit, *, stream, partition, run_id) -> ObjectApplied:
    spec = mapping.spec
    with target.transaction() as tx:
        tx.lock_key(_lock(spec, obj))
        if tx.is_loaded(spec.consumer, obj):
            return ObjectApplied(obj, "skipped")
        load = StagedLoad.begin(tx, spec.consumer, obj, run_id)
    try:
        return _load_and_publish(target, ec, mapping, batches, obj, limit, load,
                                 stream=stream, partition=partition, run_id=run_id)
    except BaseException:
        if load.temporary:  # the session's connection would keep them (and their pages) until it ends;
            # if this fails too they still go with the connection, and the first error is the one to raise
            with contextlib.suppress(Exception), target.transaction() as tx:
                load.drop(tx)
        raise


def _load_and_publish(target, ec, mapping, batches, obj, limit, load, *, stream, partition, run_id) -> ObjectApplied:
    spec = mapping.spec
    writer = CatalogWriter(None, ec, spec, AuditContext(run_id, stream, partition, obj.key, obj.etag))  # type: ignore[arg-type]
    done = ObjectApplied(obj, "applied", counts=writer.counts)
    rest = None  # (batch, its mapping output) that needs the row path: the publish takes it and what follows
    more, chunk = True, 0
    while more and rest is None:
        with target.transaction() as tx:  # one chunk, committed alone, invisible until published
            writer.bind(tx, load.tables)
            rows, more = 0, False
            for batch in batches:
                out = mapping.map_batch(batch, obj.key, columnar=True)
                if out.columns is None or not bulk_create(writer, out.columns):
                    rest = (batch, out)
                    break
                done.records += batch.num_rows
                done.filtered_out += out.filtered_out
                rows += batch.num_rows
                if rows >= limit:
                    more = True
                    break
        chunk += 1
        if os.environ.get(KILL_AFTER_CHUNK_ENV) == str(chunk):
            os.kill(os.getpid(), signal.SIGKILL)
    with target.transaction() as tx:  # publish: short unless the row path takes the rest
        tx.lock_key(_lock(spec, obj))
        if tx.is_loaded(spec.consumer, obj):  # another run published this version meanwhile
            load.drop(tx)
            return ObjectApplied(obj, "skipped")
        if not load.is_pending(tx):
            raise RuntimeError(f"{spec.name}: s3://{obj.bucket}/{obj.key}: another run took over its staged load")
        load.publish(tx, writer.seq)
        writer.bind(tx)
        if rest is not None:
            _apply_batch(writer, mapping, rest[0], obj, done, rest[1])
            for batch in batches:
                _apply_batch(writer, mapping, batch, obj, done)
        tx.mark_loaded(spec.consumer, obj, done.records, run_id)
    return done


def apply_partition(target: SqlTarget, ec: EntityConfig, mapping: CompiledMapping, ledger: Ledger,
                    staging: StagingStore, partition: str, run_id: str | None,
                    log: Callable[[str], None] = lambda m: None) -> PartitionReport:
    spec = mapping.spec
    ensure_catalog(target)
    report = PartitionReport(spec.name, spec.stream, partition)
    with target.session():  # one connection for the partition's objects
        for row in ledger.rows(spec.stream, partition, status="loaded"):
            _apply_row(target, ec, mapping, staging, row, partition, run_id, report, log)
    return report


def _apply_row(target, ec, mapping, staging, row, partition, run_id, report, log) -> None:
    """One loaded object version of the partition: skipped, applied, or missing (its report entry)."""
    spec = mapping.spec
    obj = row.obj
    with target.transaction() as tx:  # cheap check first: most objects of a partition are done
        done = tx.is_loaded(spec.consumer, obj)
    if done:
        report.objects.append(ObjectApplied(obj, "skipped"))
        return
    try:
        # the records' texts only for files whose schema sends an expression to jq
        batches = staging.read_batches(row.staged, skip_text=lambda schema: not mapping.reads_record_text(schema))
        result = apply_object(target, ec, mapping, batches, obj, stream=spec.stream, partition=partition,
                              run_id=run_id, record_text=staging.with_record_text)
    except FileNotFoundError as e:
        log(f"{spec.name}: {obj.key}: staged records are gone ({e}); a newer version replaces them")
        report.objects.append(ObjectApplied(obj, "missing"))
        return
    report.objects.append(result)
    if result.status == "applied":
        c = result.counts
        log(f"{spec.name}: {obj.key}: {result.records} records -> {c.created} created, {c.updated} updated, "
            f"{c.deleted} deleted, {c.failed} failed, {result.filtered_out} filtered out")
