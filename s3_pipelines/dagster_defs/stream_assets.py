"""Per stream: `<stream>/objects` (what is in S3 for a partition) and `<stream>/records` (the
parsed, typed records staged as Parquet), with an asset check on parse errors. Keys, groups and
descriptions come from the translator."""


import dagster as dg
import pyarrow as pa

from .. import ingest
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from .metadata import column_schema, ledger_table, preview_table, problems_table
from .partitions import partitions_def_for
from .run_health import dagster_says_over
from .translator import S3PipelinesAssetData, S3PipelinesTranslator

DISCOVERED_TAG = "s3_pipelines/discovered"  # set by sensors and `s3-pipelines run`: the ledger already holds the objects
STATE = "s3_pipelines_state"
# S3 and database calls fail for passing reasons (throttling, a dropped connection, a lock): a
# step tries three times; failures the data decides raise `Failure(allow_retries=False)`
RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def objects_key(name: str) -> dg.AssetKey:
    """The key of a stream's objects under the default translator."""
    return dg.AssetKey([dagster_name(name), "objects"])


def records_key(name: str) -> dg.AssetKey:
    """The key of a stream's records under the default translator."""
    return dg.AssetKey([dagster_name(name), "records"])


def stream_assets(cfg: PipelinesConfig, name: str, translator: S3PipelinesTranslator) -> list[dg.AssetsDefinition]:
    stream = cfg.streams[name]
    conn = dagster_name(stream.connection)  # the resource key
    pdef = partitions_def_for(stream)
    objects_spec = translator.get_asset_spec(S3PipelinesAssetData("objects", name, name, cfg))
    records_spec = translator.get_asset_spec(S3PipelinesAssetData("records", name, name, cfg))

    @dg.multi_asset(
        specs=[objects_spec], name=objects_spec.key.to_python_identifier(), partitions_def=pdef,
        required_resource_keys={conn, STATE}, retry_policy=RETRY,
    )
    def objects(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, conn).get_client()
        ledger = getattr(context.resources, STATE).ledger()
        partition = context.partition_key
        if context.run.tags.get(DISCOVERED_TAG) != "1":
            # launched by hand: no sensor has listed for us, so list the selection for this window
            new = ingest.register_partition(client, name, stream, ledger, partition)
            context.log.info(f"listed {conn} for partition {partition}: {len(new)} new object version(s)")
        rows = ledger.rows(name, partition)
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        return dg.MaterializeResult(metadata={
            "objects": len(rows),
            "bytes": sum(r.obj.size for r in rows),
            **{f"objects_{s}": n for s, n in sorted(by_status.items())},
            "objects_list": ledger_table(rows[:50]),
        })

    @dg.multi_asset(
        specs=[records_spec], name=records_spec.key.to_python_identifier(), partitions_def=pdef,
        required_resource_keys={conn, STATE}, retry_policy=RETRY,
        check_specs=[dg.AssetCheckSpec("parse_errors", asset=records_spec.key,
                                       description="No unreadable objects or records in the partition")],
    )
    def records(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, conn).get_client()
        state = getattr(context.resources, STATE)
        ledger, staging = state.ledger(), state.staging()
        partition, run_id = context.partition_key, context.run.run_id
        # open until the whole run succeeded: a run that dies after this leaves its partition to redo
        ledger.open_partition_run(name, partition, run_id)
        with ledger.hold_lease(run_id):  # our claims stay ours while we work; a killed run's lapse
            report = ingest.load_partition(
                client, name, stream, partition, staging, ledger, run_id,
                retry_failed=context.run.tags.get(DISCOVERED_TAG) != "1",
                is_stale=dagster_says_over(context.instance), log=context.log.info,
            )
        if report.fatal:  # on_error: fail — the data decided, another attempt would decide the same
            raise dg.Failure(description=f"stream {name}, partition {partition}: {report.fatal}",
                             metadata={"objects_loaded": report.count("loaded")}, allow_retries=False)
        part_rows = ledger.rows(name, partition)
        loaded = [r for r in part_rows if r.status == "loaded"]
        failed = [r for r in part_rows if r.status == "failed"]
        bad_rows = sum(r.bad_rows or 0 for r in part_rows if r.status in ("loaded", "failed", "skipped"))
        skipped = [r for r in part_rows if r.status == "skipped"]
        samples = ledger.bad_records(name, partition, limit=20)
        check = dg.AssetCheckResult(
            check_name="parse_errors", asset_key=records_spec.key,
            passed=not (failed or skipped or bad_rows),
            severity=dg.AssetCheckSeverity.ERROR if failed else dg.AssetCheckSeverity.WARN,
            description=f"partition {partition}: {len(failed)} unreadable object(s), {len(skipped)} skipped, "
                        f"{bad_rows} bad record(s)",
            metadata={
                "partition": partition,  # the check page shows no partition of its own
                "failed_objects": len(failed), "skipped_objects": len(skipped), "bad_records": bad_rows,
                "samples": problems_table(
                    [{"object": s["key"], "line": s["line"], "reason": s["reason"]} for s in samples]
                    + [{"object": r.obj.key, "line": None, "reason": r.error or "failed"} for r in failed]),
            },
        )
        preview = report.preview()
        return dg.MaterializeResult(
            metadata={
                "objects": report.count("loaded"),
                "rows": report.rows,
                "bad_rows": report.bad_rows,
                "bytes": report.bytes_read,
                "objects_failed": report.count("failed"),
                "objects_skipped": report.count("skipped"),
                "objects_changed": report.count("changed"),
                "partition_objects_loaded": len(loaded),
                "dagster/row_count": sum(r.rows or 0 for r in loaded),
                "staging": dg.MetadataValue.path(staging.location(name, partition)),
                **({"preview": preview_table(preview), "dagster/column_schema": column_schema(preview.schema)}
                   if isinstance(preview, pa.Table) else {}),
            },
            check_results=[check],
        )

    return [objects, records]
