"""Apply a mapping to the loaded objects of a stream partition: each object version not yet
applied to the target (its load mark, consumer `mapping:<name>`) is read from staging, mapped,
and written with its audit rows and its load mark in one transaction — so an object's entities
land exactly once, and a new version of an object (a new ETag) is applied again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from ..ledger import Ledger
from ..mapping import CompiledMapping
from ..objects import S3Object
from ..staging import StagingStore
from ..targets import SqlTarget
from .bulk import bulk_create
from .entities import EntityConfig
from .schema import ensure_catalog
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


def apply_object(target: SqlTarget, ec: EntityConfig, mapping: CompiledMapping, batches: Iterable[pa.RecordBatch],
                 obj: S3Object, *, stream: str, partition: str | None, run_id: str | None) -> ObjectApplied:
    spec = mapping.spec
    ensure_catalog(target)
    with target.transaction() as tx:
        tx.lock_key(f"{spec.consumer} s3://{obj.bucket}/{obj.key}")  # two runs applying one object wait
        if tx.is_loaded(spec.consumer, obj):
            return ObjectApplied(obj, "skipped")
        writer = CatalogWriter(tx, ec, spec, AuditContext(run_id, stream, partition, obj.key, obj.etag))
        done = ObjectApplied(obj, "applied", counts=writer.counts)
        for batch in batches:
            out = mapping.map_batch(batch, obj.key, columnar=True)
            done.records += batch.num_rows
            done.filtered_out += out.filtered_out
            if out.columns is None or not bulk_create(writer, out.columns):  # the row path merges and explains
                writer.apply(out.all_results())
            writer.flush_audit()
        tx.mark_loaded(spec.consumer, obj, done.records, run_id)
    return done


def apply_partition(target: SqlTarget, ec: EntityConfig, mapping: CompiledMapping, ledger: Ledger,
                    staging: StagingStore, partition: str, run_id: str | None,
                    log: Callable[[str], None] = lambda m: None) -> PartitionReport:
    spec = mapping.spec
    ensure_catalog(target)
    report = PartitionReport(spec.name, spec.stream, partition)
    for row in ledger.rows(spec.stream, partition, status="loaded"):
        obj = row.obj
        with target.transaction() as tx:  # cheap check first: most objects of a partition are done
            done = tx.is_loaded(spec.consumer, obj)
        if done:
            report.objects.append(ObjectApplied(obj, "skipped"))
            continue
        try:
            result = apply_object(target, ec, mapping, staging.read_batches(row.staged), obj,
                                  stream=spec.stream, partition=partition, run_id=run_id)
        except FileNotFoundError as e:
            log(f"{spec.name}: {obj.key}: staged records are gone ({e}); a newer version replaces them")
            report.objects.append(ObjectApplied(obj, "missing"))
            continue
        report.objects.append(result)
        if result.status == "applied":
            c = result.counts
            log(f"{spec.name}: {obj.key}: {result.records} records -> {c.created} created, {c.updated} updated, "
                f"{c.deleted} deleted, {c.failed} failed, {result.filtered_out} filtered out")
    return report
