"""One load of a table from one partition of its stream, like one Polaris batch job: it completes
or fails as a whole, in one transaction of the target holding the rows and the load marks.

Which objects a load takes (the target's load marks decide, under a table lock):
- append: the partition's loaded object versions this table has not applied yet. When one of them
  is a new version (new ETag) of a key the table applied before, appending would count the key twice
  and a rollup cannot take the old rows back out; so the table is rebuilt from the current version
  of every object of the stream instead (their staged Parquet), in the same transaction.
- replace: every loaded object version of the partition; the `__time` intervals they cover are
  replaced (the whole table without `__time`). Running it again gives the same table.

Parse exceptions (bad records the stream reported, values that do not fit the input schema, rows
whose `__time` is NULL) are counted over the load; more than `max_parse_exceptions` fails it before
anything is committed. Records come from the staged Parquet files, never from S3 again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ..config.tables import TableConfig
from ..ledger import Ledger, LedgerRow
from ..staging import StagingStore
from ..targets.base import SqlTarget
from .conform import ParseException
from .direct import rollup_files
from .evaluate import KEEP_EXCEPTIONS, Evaluator
from .plan import TablePlan
from .sink import TableSink
from .table_schema import ensure_table


class TooManyParseExceptions(Exception):
    def __init__(self, report: "LoadReport", limit: int):
        self.report = report
        super().__init__(
            f"table {report.table}: {report.rows_skipped_by_error} parse exception(s), more than "
            f"max_parse_exceptions ({limit}); nothing was written")


@dataclass
class LoadReport:
    table: str
    mode: str
    partition: str
    status: str = "running"  # running -> completed | failed
    objects_applied: int = 0
    objects_already_loaded: int = 0
    rebuilt: bool = False  # append met a changed object: the table was rebuilt
    rows_processed: int = 0  # records read (kept or not)
    rows_persisted: int = 0  # rows written to the table (groups, for a rollup)
    rows_skipped_by_error: int = 0
    exceptions: list[ParseException] = field(default_factory=list)
    intervals: list[str] | None = None  # replaced __time intervals; None: whole table (or none)
    created_table: bool = False


def consumer(name: str) -> str:
    """The name of a table's load marks in its target."""
    return f"table:{name}"


def load_partition(name: str, table: TableConfig, plan: TablePlan, target: SqlTarget, ledger: Ledger,
                   staging: StagingStore, stream: str, partition: str, run_id: str | None = None,
                   log: Callable[[str], None] = lambda m: None) -> LoadReport:
    report = LoadReport(plan.table, table.ingestion_mode, partition)
    report.created_table = ensure_table(target, plan, table.create_table_if_not_exists)
    part_rows = ledger.rows(stream, partition)
    loaded = [r for r in part_rows if r.status == "loaded"]
    broken = _unreadable(ledger, stream, part_rows)
    mark = consumer(name)
    evaluator = Evaluator(plan)
    try:
        with target.transaction() as tx:
            sink = TableSink(tx, plan)
            sink.lock()
            marked = {(r.obj.bucket, r.obj.key): tx.loaded_version(mark, r.obj.bucket, r.obj.key) for r in loaded}
            if table.ingestion_mode == "replace":
                scope = loaded
            else:
                scope = [r for r in loaded if marked[(r.obj.bucket, r.obj.key)] != r.obj.etag]
                changed = [r for r in scope if marked[(r.obj.bucket, r.obj.key)] is not None]
                if changed:
                    log(f"{len(changed)} object(s) changed since the table loaded them "
                        f"(e.g. {changed[0].obj.key}): rebuilding {plan.table} from every object of {stream}")
                    report.rebuilt = True
                    scope = ledger.rows(stream, status="loaded")
            report.objects_already_loaded = len(loaded) - len(scope) if not report.rebuilt else 0
            _count_ingest_errors(report, ledger, stream, partition, scope, broken)
            _check(report, table)
            if scope:
                _write(report, table, plan, sink, evaluator, staging, scope)
                report.rows_processed += evaluator.rows_in + _ingest_bad(scope)
                report.rows_skipped_by_error += evaluator.rows_skipped
                room = KEEP_EXCEPTIONS - len(report.exceptions)
                report.exceptions += evaluator.exceptions[:max(0, room)]
                _check(report, table)  # raises: the transaction rolls back
                for r in scope:
                    tx.mark_loaded(mark, r.obj, r.rows or 0, run_id)
            report.objects_applied = len(scope)
            report.rows_persisted = sink.rows_written
    except TooManyParseExceptions:
        report.status = "failed"
        raise
    finally:
        evaluator.close()
    report.status = "completed"
    return report


def _write(report: LoadReport, table: TableConfig, plan: TablePlan, sink: TableSink, evaluator: Evaluator,
           staging: StagingStore, scope: list[LedgerRow]) -> None:
    batches = _batches(staging, scope)
    replace = table.ingestion_mode == "replace" or report.rebuilt
    if not replace:
        if plan.rollup:
            sink.merge(_rollup(evaluator, scope, batches))
        else:
            sink.append(evaluator.rows(batches))
        return
    rows = [_rollup(evaluator, scope, batches)] if plan.rollup else evaluator.rows(batches)
    covered = sink.replace(rows, table.partitioning_granularity, whole_table=report.rebuilt)
    report.intervals = None if covered is None else [f"{s.isoformat()}/{e.isoformat()}" for s, e in covered]


def _rollup(evaluator: Evaluator, scope: list[LedgerRow], batches: Iterator[pa.RecordBatch]) -> pa.Table:
    """DuckDB over the staged files when it gives the same groups (direct.py), else batch by batch."""
    rolled = rollup_files(evaluator, [f for r in scope for f in (r.staged or [])])
    return evaluator.rollup(batches) if rolled is None else rolled


def _batches(staging: StagingStore, scope: list[LedgerRow]) -> Iterator[pa.RecordBatch]:
    for r in scope:
        yield from staging.read_batches(r.staged)


def _ingest_bad(rows: list[LedgerRow]) -> int:
    return sum(r.bad_rows or 0 for r in rows)


def _unreadable(ledger: Ledger, stream: str, part_rows: list[LedgerRow]) -> list[LedgerRow]:
    """Failed or skipped object versions of the partition that no newer version has replaced."""
    broken = [r for r in part_rows if r.status in ("failed", "skipped")]
    if not broken:
        return []
    newest = {}
    for r in ledger.rows(stream, status="loaded"):
        k = (r.obj.bucket, r.obj.key)
        newest[k] = max(newest.get(k, r.obj.last_modified), r.obj.last_modified)
    return [b for b in broken if not ((b.obj.bucket, b.obj.key) in newest
                                      and newest[(b.obj.bucket, b.obj.key)] >= b.obj.last_modified)]


def _count_ingest_errors(report: LoadReport, ledger: Ledger, stream: str, partition: str,
                         scope: list[LedgerRow], broken: list[LedgerRow]) -> None:
    """Bad records the stream saw in the objects of this load, and in unreadable objects."""
    rows = scope + broken
    # an unreadable object is at least one exception, even when it stopped before any bad record
    report.rows_skipped_by_error += _ingest_bad(scope) + sum(max(r.bad_rows or 0, 1) for r in broken)
    if report.rows_skipped_by_error:
        versions = {(r.obj.key, r.obj.etag) for r in rows}
        partitions = {r.partition_key for r in rows}
        for p in sorted(partitions):
            for b in ledger.bad_records(stream, p, limit=KEEP_EXCEPTIONS):
                if (b["key"], b["etag"]) in versions and len(report.exceptions) < KEEP_EXCEPTIONS:
                    report.exceptions.append(ParseException(b["key"], b["line"], b["reason"]))


def _check(report: LoadReport, table: TableConfig) -> None:
    if report.rows_skipped_by_error > table.max_parse_exceptions:
        report.status = "failed"
        raise TooManyParseExceptions(report, table.max_parse_exceptions)
