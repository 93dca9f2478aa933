"""Feed a destination from one partition of a stream: the partition's loaded object versions not yet
done for the destination become the inputs of one `write_load`; the objects written and the inputs
done are recorded in one ledger transaction (`written.record_load`). No Dagster here.

An input is an object version (`bucket/key@etag`) as the load ledger has it, its arrival time its
LastModified, its records the staged Parquet (never S3 again). A `transform` turns them into what
the destination writes: the records themselves (`from: {stream}`), a mapping's entities
(`entity_batches`) or a table's rows (`table_batches`).

A process killed after an upload and before the commit runs the load again: the same inputs give
the same bytes under the same keys, so the create-only writer finds them there and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from ...ledger import Ledger, LedgerRow
from ...readers.records import RECORD_COLUMN, json_dumps
from ...staging import StagingStore
from ...tables.evaluate import Evaluator
from .destination import DestinationSpec, Input, LoadResult, write_load
from .writer import CreateOnlyWriter
from .written import inputs_done, record_load, transaction

Transform = Callable[[Iterable[pa.RecordBatch], LedgerRow], Iterable[pa.RecordBatch]]


def input_id(row: LedgerRow) -> str:
    return f"{row.obj.bucket}/{row.obj.key}@{row.obj.etag}"


@dataclass
class FeedReport:
    destination: str
    partition: str
    aborted_uploads: list[str] = field(default_factory=list)
    already_done: int = 0
    result: LoadResult | None = None

    @property
    def objects(self):
        return self.result.objects if self.result else []

    @property
    def inputs(self) -> list[str]:
        return self.result.inputs if self.result else []


def feed_partition(spec: DestinationSpec, stream: str, partition: str, ledger: Ledger, staging: StagingStore,
                   writer: CreateOnlyWriter, transform: Transform | None = None,
                   stale_after: dt.timedelta = dt.timedelta(hours=1),
                   log: Callable[[str], None] = lambda m: None) -> FeedReport:
    report = FeedReport(spec.name, partition)
    report.aborted_uploads = writer.abort_stale_uploads(spec.prefix, older_than=stale_after)
    if report.aborted_uploads:
        log(f"{spec.name}: aborted {len(report.aborted_uploads)} stale multipart upload(s) under {spec.prefix}")
    loaded = ledger.rows(stream, partition, status="loaded")
    with transaction(ledger) as db:  # a short read; the writes come later in their own transaction
        done = inputs_done(db, spec.name, [input_id(r) for r in loaded])
    todo = [r for r in loaded if input_id(r) not in done]
    report.already_done = len(loaded) - len(todo)
    inputs = [_input(r, staging, transform) for r in todo]
    result = write_load(inputs, spec, writer)
    with transaction(ledger) as db:
        record_load(db, result)
    report.result = result
    for o in result.objects:
        log(f"{spec.name}: {o.key}: {o.rows} record(s), {o.bytes} bytes" + ("" if o.created else " (already there)"))
    return report


def _input(row: LedgerRow, staging: StagingStore, transform: Transform | None) -> Input:
    def batches() -> Iterator[pa.RecordBatch]:
        source = staging.read_batches(row.staged)
        yield from (transform(source, row) if transform else source)

    return Input(input_id(row), row.obj.last_modified, batches)


# --- what a mapping or a table makes of an object's records ------------------------------------


def entity_batches(mapping) -> Transform:
    """The entities a compiled mapping makes of each record (Port's entity shape), as records whose
    text is the entity's JSON; failed records make none (the catalog's audit log reports them)."""

    def transform(batches: Iterable[pa.RecordBatch], row: LedgerRow) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out = mapping.map_batch(batch, row.obj.key)
            entities = [{"operation": r.operation, **r.entity()} for r in out.all_results() if r.error is None]
            if entities:
                yield records_batch(entities)

    return transform


def table_batches(plan) -> Transform:
    """The rows a table's plan makes of each object's records (a rollup: its groups per object)."""
    def transform(batches: Iterable[pa.RecordBatch], row: LedgerRow) -> Iterator[pa.RecordBatch]:
        evaluator = Evaluator(plan)
        try:
            tables = [evaluator.rollup(batches)] if plan.rollup else evaluator.rows(batches)
            for t in tables:
                yield from t.to_batches()
        finally:
            evaluator.close()

    return transform


def records_batch(records: list[dict]) -> pa.RecordBatch:
    """Python records as a batch: typed columns (for parquet and csv) and each record's JSON text."""
    try:
        table = pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a field whose type changes: the texts hold it
        table = pa.table({})
    texts = pa.array([json_dumps(r) for r in records], pa.string())
    if table.num_columns == 0:
        return pa.RecordBatch.from_arrays([texts], names=[RECORD_COLUMN])
    table = table.append_column(RECORD_COLUMN, texts)
    return table.combine_chunks().to_batches()[0]
