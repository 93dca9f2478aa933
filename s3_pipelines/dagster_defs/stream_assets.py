"""Per stream: `<stream>/objects` (what is in S3 for a partition) and `<stream>/records` (the
parsed, typed records staged as Parquet), with an asset check on parse errors. Keys, groups and
descriptions come from the translator."""


from collections.abc import Iterator

import dagster as dg

from .. import ingest
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from .metadata import listing_table
from .partitions import partitions_def_for
from .records_metadata import SHOWN, objects_observation, parse_errors_check, records_metadata, staged_preview
from .run_health import dagster_says_over
from .translator import S3PipelinesAssetData, S3PipelinesTranslator

DISCOVERED_TAG = "s3_pipelines/discovered"  # set by sensors and `s3-pipelines run`: the ledger already holds the objects
RETRY_FAILED_TAG = "s3_pipelines/retry_failed"  # set by `s3-pipelines run`: failed objects are read again now
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
        new = None
        if context.run.tags.get(DISCOVERED_TAG) != "1":
            # launched by hand: no sensor has listed for us, so list the selection for this window
            new = ingest.register_partition(client, name, stream, ledger, partition)
            context.log.info(f"listed {conn} for partition {partition}: {len(new)} new object version(s)")
        rows = ledger.rows(name, partition)
        # what is listed, not what becomes of it: the records step reports each object's status
        # after the load as an observation of this asset (records_metadata.objects_observation)
        return dg.MaterializeResult(metadata={
            "objects": len(rows),
            "bytes": sum(r.obj.size for r in rows),
            **({"newly_listed": len(new)} if new is not None else {}),
            "objects_list": listing_table(rows[:SHOWN]),
        })

    @dg.multi_asset(
        specs=[records_spec], name=records_spec.key.to_python_identifier(), partitions_def=pdef,
        required_resource_keys={conn, STATE}, retry_policy=RETRY,
        check_specs=[dg.AssetCheckSpec("parse_errors", asset=records_spec.key,
                                       description="Passes when every object of the partition was read "
                                                   "without a bad record; the result names the partition, "
                                                   "its problems and which of them this run found")],
    )
    def records(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        client = getattr(context.resources, conn).get_client()
        state = getattr(context.resources, STATE)
        ledger, staging = state.ledger(), state.staging()
        partition, run_id = context.partition_key, context.run.run_id
        # open until the whole run succeeded: a run that dies after this leaves its partition to redo
        ledger.open_partition_run(name, partition, run_id)
        with ledger.hold_lease(run_id):  # our claims stay ours while we work; a killed run's lapse
            report = ingest.load_partition(
                client, name, stream, partition, staging, ledger, run_id,
                retry_failed=context.run.tags.get(DISCOVERED_TAG) != "1" or RETRY_FAILED_TAG in context.run.tags,
                is_stale=dagster_says_over(context.instance), log=context.log.info,
            )
        part_rows = ledger.rows(name, partition)
        # logged now, so a step that fails below still shows each object's status on `objects`
        context.log_event(objects_observation(objects_spec.key, part_rows, partition))
        loaded = [r for r in part_rows if r.status == "loaded"]
        check = parse_errors_check(records_spec.key, "parse_errors", part_rows, run_id, partition,
                                   ledger.bad_records(name, partition, limit=20))
        if failure := ingest.partition_failure(name, partition, report, part_rows):
            # an unreadable object fails its partition (on_error skip_record or fail): the data decided,
            # another attempt would decide the same. Yielded first, the check (and the events logged
            # above) are recorded: a step that raises drops what it logged since its last yield
            yield check
            raise dg.Failure(description=failure, allow_retries=False, metadata=records_metadata(
                part_rows, run_id, report, None, staging.location(name, partition)))
        # nothing new read: the preview comes from what the partition has staged
        preview = report.preview()
        if preview is None:
            preview = staged_preview(staging, loaded, context.log.warning)
        yield dg.MaterializeResult(
            metadata=records_metadata(part_rows, run_id, report, preview, staging.location(name, partition)),
            check_results=[check],
        )

    return [objects, records]
