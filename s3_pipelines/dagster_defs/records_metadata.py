"""What the UI shows of a stream's partition once its records step has loaded it, read from the
ledger after the load (issue 14):

- an observation of `<stream>/objects`: each object's status after the load (the objects step's
  own materialization runs before the load, so it can only list them);
- the records materialization: figures of the partition (every loaded object, its rows and bad
  rows, a preview), so a run with nothing new does not show zeros as the latest state; this run's
  own counts are the `new_*` entries (`s3-pipelines run` sums those);
- the `parse_errors` check: the partition's problems, saying which of them this run found.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import pyarrow as pa

from ..connections.s3 import S3AccessError
from ..ingest import LoadReport
from ..ledger import LedgerRow
from ..staging import StagingStore
from .metadata import column_schema, ledger_table, preview_table, problems_table

DONE = ("loaded", "failed", "skipped")  # what a load decided about an object
SHOWN = 50  # objects listed in a metadata table
PREVIEW_ROWS = 10


def _count(rows: list[LedgerRow], status: str) -> int:
    return sum(r.status == status for r in rows)


def _bad(rows: list[LedgerRow]) -> int:
    return sum(r.bad_rows or 0 for r in rows if r.status in DONE)


def _this_run(rows: list[LedgerRow], run_id: str) -> list[LedgerRow]:
    """What this run decided (every attempt of its step shares the run id)."""
    return [r for r in rows if r.run_id == run_id and r.status in DONE]


def objects_observation(key: dg.AssetKey, rows: list[LedgerRow], partition: str) -> dg.AssetObservation:
    """The partition's objects as the ledger has them after the load."""
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "no objects"
    return dg.AssetObservation(
        asset_key=key, partition=partition,
        description=f"partition {partition} after the load: {summary}",
        metadata={
            "partition": partition,
            "objects": len(rows),
            "bytes": sum(r.obj.size for r in rows),
            **{f"objects_{s}": n for s, n in sorted(by_status.items())},
            "rows": sum(r.rows or 0 for r in rows if r.status == "loaded"),
            "bad_rows": _bad(rows),
            "objects_list": ledger_table(rows[:SHOWN]),
        },
    )


def staged_preview(staging: StagingStore, rows: list[LedgerRow], log: Callable[[str], None],
                   n: int = PREVIEW_ROWS) -> pa.Table | None:
    """The first rows staged for the partition's first loaded object that has any."""
    for r in rows:
        if r.status != "loaded" or not r.staged:
            continue
        batches = staging.read_batches(r.staged[:1], batch_size=n)
        try:
            batch = next((b for b in batches if b.num_rows), None)
        except (OSError, pa.ArrowException, S3AccessError) as e:  # a preview never fails the step
            log(f"no preview: staged file of {r.obj.key} unreadable: {type(e).__name__}")
            return None
        finally:
            batches.close()
        if batch is not None:
            return pa.Table.from_batches([batch.slice(0, n)])
    return None


def records_metadata(rows: list[LedgerRow], run_id: str, report: LoadReport, preview: pa.Table | None,
                     staging_location: str) -> dict:
    loaded = [r for r in rows if r.status == "loaded"]
    mine = _this_run(rows, run_id)
    new_loaded = [r for r in mine if r.status == "loaded"]
    partition_rows = sum(r.rows or 0 for r in loaded)
    return {
        # the partition as the ledger has it now
        "objects": len(loaded),
        "rows": partition_rows,
        "bad_rows": _bad(rows),
        "objects_failed": _count(rows, "failed"),
        "objects_skipped": _count(rows, "skipped"),
        "dagster/row_count": partition_rows,
        # what this run did
        "new_objects": len(new_loaded),
        "new_rows": sum(r.rows or 0 for r in new_loaded),
        "new_bad_rows": _bad(mine),
        "new_objects_failed": _count(mine, "failed"),
        "new_objects_skipped": _count(mine, "skipped"),
        "objects_changed": report.count("changed"),
        "bytes_read": report.bytes_read,
        "staging": dg.MetadataValue.path(staging_location),
        **({"preview": preview_table(preview), "dagster/column_schema": column_schema(preview.schema)}
           if preview is not None else {}),
    }


def parse_errors_check(key: dg.AssetKey, name: str, rows: list[LedgerRow], run_id: str, partition: str,
                       samples: list[dict]) -> dg.AssetCheckResult:
    """Judges the whole partition (a problem found by an earlier run still fails it) and says
    which problems this run found, so a re-run with nothing new does not read as a new one."""
    failed = [r for r in rows if r.status == "failed"]
    skipped = [r for r in rows if r.status == "skipped"]
    bad = _bad(rows)
    mine = _this_run(rows, run_id)
    new_failed, new_skipped, new_bad = _count(mine, "failed"), _count(mine, "skipped"), _bad(mine)
    passed = not (failed or skipped or bad)
    text = f"partition {partition}: {len(failed)} unreadable object(s), {len(skipped)} skipped, {bad} bad record(s)"
    if not passed:
        text += (" (none new in this run: found by an earlier run)" if not (new_failed or new_skipped or new_bad)
                 else f" ({new_failed} unreadable, {new_skipped} skipped, {new_bad} bad record(s) new in this run)")
    new_keys = {(r.obj.key, r.obj.etag) for r in mine}
    problems = ([{"object": s["key"], "line": s["line"], "reason": s["reason"], "new": (s["key"], s["etag"]) in new_keys}
                 for s in samples]
                + [{"object": r.obj.key, "line": None, "reason": r.error or "failed", "new": (r.obj.key, r.obj.etag) in new_keys} for r in failed])
    problems.sort(key=lambda p: not p["new"])  # this run's first
    return dg.AssetCheckResult(
        check_name=name, asset_key=key, passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if failed else dg.AssetCheckSeverity.WARN,
        description=text,
        metadata={
            "partition": partition,  # the check page shows no partition of its own
            "failed_objects": len(failed), "skipped_objects": len(skipped), "bad_records": bad,
            "new_failed_objects": new_failed, "new_skipped_objects": new_skipped, "new_bad_records": new_bad,
            "samples": problems_table(problems),
        },
    )
