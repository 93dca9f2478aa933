"""Load objects of a stream: discover → ledger (pending) → claim → read → stage → ledger (done).

This is the engine's one path for sensors, the `run` command and hand-launched materializations.
Nothing here knows Dagster; `log` is any callable taking a message.

The failure model (`on_error`): under `skip_record` bad records are skipped, and an object that
cannot be read at all is `failed`: its neighbours still load, then the load that read it fails
(`partition_failure`) and the object is retried with backoff (`stream.retry`); a later load that
does not read it again (its retry not yet due) succeeds. Under `skip_file`
any error skips its object (`skipped`) and the load succeeds. Under `fail` the first failed object
stops the load.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from . import listing, partitions, selection
from .config.models import StreamConfig
from .connections.s3 import S3AccessError
from .ledger import Ledger, LedgerRow
from .objects import BadRecordError, ObjectChangedError, ObjectError, S3Object
from .readers import BadRecord, ReadOptions, read_batches
from .readers.options import ColumnSpec, CsvOptions
from .staging import StagingStore


class S3ObjectSource:
    """A reader source over one listed object version."""

    def __init__(self, client, obj: S3Object):
        self.client, self.obj, self.key = client, obj, obj.key

    def open_stream(self):
        return self.client.open_stream(self.obj)

    def open_random_access(self):
        return self.client.open_random_access(self.obj)


def read_options(stream: StreamConfig) -> ReadOptions:
    """What the readers need of a stream's config, in their own terms."""
    csv = stream.csv
    return ReadOptions(
        format=stream.format,
        compression=stream.compression,
        csv=CsvOptions(csv.has_headers, csv.skip_lines, csv.delimiter, csv.quote_char,
                       tuple(csv.column_names) if csv.column_names is not None else None),
        envelope=stream.envelope,
        schema=tuple(ColumnSpec(c.name, c.type) for c in stream.schema_) if stream.schema_ else None,
        on_error=stream.on_error,
        max_errors=stream.max_errors,
        max_decompressed_bytes=stream.max_decompressed_bytes,
        max_line_bytes=stream.max_line_bytes,
    )


@dataclass
class ObjectResult:
    obj: S3Object
    status: str  # loaded | skipped | failed | changed
    rows: int = 0
    bad_rows: int = 0
    error: str | None = None
    files: list[str] = field(default_factory=list)
    bytes_staged: int = 0
    preview: pa.Table | None = None


@dataclass
class LoadReport:
    stream: str
    partition: str
    results: list[ObjectResult] = field(default_factory=list)
    fatal: str | None = None  # set when on_error=fail stopped the load

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)

    @property
    def bad_rows(self) -> int:
        return sum(r.bad_rows for r in self.results)

    @property
    def bytes_read(self) -> int:
        return sum(r.obj.size for r in self.results if r.status in ("loaded", "skipped", "failed"))

    def preview(self) -> pa.Table | None:
        return next((r.preview for r in self.results if r.preview is not None), None)


# --- discovery -------------------------------------------------------------------------------


def partition_of(stream: StreamConfig) -> Callable[[S3Object], str]:
    return lambda o: partitions.partition_key(stream.partitioning, o.last_modified)


@dataclass
class Discovered:
    new: list[S3Object]  # object versions the ledger had not seen (now pending)
    cursor: str  # JSON
    list_requests: int
    missing: list[str]  # explicitly selected objects (uris / objects) that do not exist
    complete: bool


def discover(client, name: str, stream: StreamConfig, ledger: Ledger, cursor: str | None) -> Discovered:
    """One incremental listing step; new object versions go to the ledger as pending."""
    found = listing.discover(client, stream.select, stream.listing, json.loads(cursor) if cursor else None)
    new = ledger.register(name, found.objects, partition_of(stream))
    return Discovered(new, json.dumps(found.cursor, separators=(",", ":")), found.list_requests,
                      list(found.missing), found.complete)


def discover_all(client, name: str, stream: StreamConfig, ledger: Ledger, cursor: str | None,
                 max_ticks: int = 100_000) -> Discovered:
    """Discovery until a listing sweep is complete (the `run` command wants everything now)."""
    total = Discovered([], cursor or "", 0, [], False)
    for _ in range(max_ticks):
        step = discover(client, name, stream, ledger, total.cursor or None)
        total = Discovered(total.new + step.new, step.cursor, total.list_requests + step.list_requests,
                           step.missing, step.complete)
        if step.complete:
            break
    return total


def register_partition(client, name: str, stream: StreamConfig, ledger: Ledger, partition: str) -> list[S3Object]:
    """A full listing of the selection, keeping the objects of one partition's window: what a
    hand-launched materialization of a partition does, with no sensor having run."""
    start, end = partitions.window(stream.partitioning, partition)
    in_window = [o for o in selection.iter_selected(client, stream.select) if start <= o.last_modified < end]
    return ledger.register(name, in_window, lambda o: partition)


# --- loading ---------------------------------------------------------------------------------


def load_object(client, name: str, stream: StreamConfig, obj: S3Object, partition: str,
                staging: StagingStore, ledger: Ledger, run_id: str) -> ObjectResult:
    bad: list[BadRecord] = []
    opts = read_options(stream)
    try:
        staged = staging.write(name, partition, obj, read_batches(S3ObjectSource(client, obj), obj, opts, bad.append))
    except ObjectChangedError as e:
        ledger.finish(name, obj, status="changed", error=str(e), run_id=run_id)
        newer = client.head(obj.key)
        if newer is not None and newer.etag != obj.etag:
            ledger.register(name, [newer], partition_of(stream))
        return ObjectResult(obj, "changed", error=str(e))
    except ObjectError as e:
        if isinstance(e, BadRecordError):
            bad.append(BadRecord(e.key, e.line, e.reason))
        return _not_loaded(name, stream, obj, ledger, run_id, bad, str(e), [(b.line, b.reason) for b in bad]
                           or [(e.line, e.reason)])
    except S3AccessError:
        raise  # credentials, bucket, network: not this object's fault; it goes back to pending
    except Exception as e:  # a reader defect on odd input stops this object only, never its neighbours
        error = f"{obj.key}: unexpected {type(e).__name__} while reading: {str(e)[:500]}"
        return _not_loaded(name, stream, obj, ledger, run_id, bad, error,
                           [(b.line, b.reason) for b in bad] + [(None, error)])
    if bad:
        ledger.add_bad_records(name, obj, [(b.line, b.reason) for b in bad], run_id)
    replaced = ledger.finish(name, obj, status="loaded", rows=staged.rows, bad_rows=len(bad),
                             staged=staged.files, run_id=run_id)
    staging.remove(replaced)
    return ObjectResult(obj, "loaded", staged.rows, len(bad), files=staged.files,
                        bytes_staged=staged.bytes_written, preview=staged.preview)


def _not_loaded(name: str, stream: StreamConfig, obj: S3Object, ledger: Ledger, run_id: str,
                bad: list[BadRecord], error: str, kept: list[tuple[int | None, str]]) -> ObjectResult:
    """An object that could not be loaded whole: `skipped` under on_error skip_file, else `failed`
    and due for a retry after its backoff."""
    status = "skipped" if stream.on_error == "skip_file" else "failed"
    ledger.add_bad_records(name, obj, kept, run_id)
    ledger.finish(name, obj, status=status, bad_rows=len(bad), error=error, run_id=run_id,
                  retry_after=backoff(stream))
    return ObjectResult(obj, status, bad_rows=len(bad), error=error)


def backoff(stream: StreamConfig) -> Callable[[int], dt.timedelta | None]:
    """Wait before the sensor's next read of an object that failed `attempts` times: doubling from
    the initial delay up to the maximum; None once the attempts are spent."""
    retry = stream.retry

    def after(attempts: int) -> dt.timedelta | None:
        if attempts >= retry.max_attempts:
            return None
        return dt.timedelta(seconds=min(retry.max_delay_seconds, retry.initial_delay_seconds * 2 ** min(attempts - 1, 40)))

    return after


def partition_failure(name: str, partition: str, report: LoadReport, rows: list[LedgerRow],
                      shown: int = 3) -> str | None:
    """Why the partition's load fails, in one line naming the stream, the partition, the objects and
    their reasons; None when it does not (`rows`: the partition's ledger rows after the load)."""
    where = f"stream {name}, partition {partition}"
    if report.fatal:  # on_error: fail
        return f"{where}: {report.fatal}"
    # only objects this load read and could not: a run for new objects while an old failure waits
    # for its retry succeeds, so good objects reach entities and tables (the check stays red)
    tried = {(r.obj.key, r.obj.etag) for r in report.results if r.status == "failed"}
    failed = [r for r in rows if r.status == "failed" and (r.obj.key, r.obj.etag) in tried]
    if not failed:
        return None
    reasons = "; ".join(" ".join((r.error or f"{r.obj.key}: failed").split()) for r in failed[:shown])
    more = f" (and {len(failed) - shown} more)" if len(failed) > shown else ""
    return f"{where}: {len(failed)} object(s) could not be read: {reasons}{more}"


def load_partition(client, name: str, stream: StreamConfig, partition: str, staging: StagingStore,
                   ledger: Ledger, run_id: str, *, retry_failed: bool = False,
                   is_stale: Callable[[str], bool] | None = None, workers: int = 4,
                   log: Callable[[str], None] = lambda m: None) -> LoadReport:
    """Claim and load every pending object of a partition. Several objects load at once: most
    time is network and decompression, which release the GIL."""
    # one claim per attempt of the run's step: what an earlier attempt left loading died with it
    claimed = ledger.claim(name, partition, run_id, retry_failed=retry_failed, is_stale=is_stale, retake_own=True)
    report = LoadReport(name, partition)
    log(f"{name} [{partition}]: {len(claimed)} object(s) to load")
    if not claimed:
        return report
    done: set[tuple[str, str]] = set()
    stop = False

    def one(obj: S3Object) -> ObjectResult | None:
        if stop:
            return None
        return load_object(client, name, stream, obj, partition, staging, ledger, run_id)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for obj, result in zip(claimed, pool.map(one, claimed)):
                if result is None:
                    continue
                done.add((obj.key, obj.etag))
                report.results.append(result)
                log(_describe(result))
                if result.status == "failed" and stream.on_error == "fail" and not stop:
                    stop = True
                    report.fatal = f"on_error is fail: {result.error}"
    finally:
        # objects not reached (stopped, or an exception such as lost credentials) go back to pending
        ledger.release(name, [o for o in claimed if (o.key, o.etag) not in done], run_id)
    return report


def _describe(r: ObjectResult) -> str:
    if r.status == "loaded":
        extra = f", {r.bad_rows} bad record(s) skipped" if r.bad_rows else ""
        return f"loaded {r.obj.key}: {r.rows} rows{extra}"
    return f"{r.status} {r.obj.key}: {r.error}"
