"""Polaris-style table assets: one per table, downstream of its stream's records and partitioned
like them. A materialization is one load of the partition (s3_pipelines.tables.load), reading the
staged Parquet of the partition's objects; its metadata is Polaris' job report."""

# no `from __future__ import annotations`: Dagster reads the `context` annotation at definition time
import dagster as dg

from ..config.models import PipelinesConfig
from ..config.tables import source_stream_name
from ..tables import LoadReport, TooManyParseExceptions, load_partition, plan_for, resolve_target
from ..tables.table_schema import TableSchemaError
from ..targets import qident
from .metadata import problems_table
from .partitions import partitions_def_for
from ..config.names import dagster_name
from .resources import writer_pool
from .stream_assets import RETRY, STATE
from .translator import S3PipelinesAssetData, S3PipelinesTranslator


def table_key(name: str) -> dg.AssetKey:
    """The key of a table under the default translator."""
    return dg.AssetKey(["tables", dagster_name(name)])


def table_definitions(cfg: PipelinesConfig, translator: S3PipelinesTranslator) -> list[dg.AssetsDefinition]:
    """One asset per table, downstream of its stream's records, same partitions."""
    return [_table_asset(cfg, name, translator) for name in cfg.tables]


def _table_asset(cfg: PipelinesConfig, name: str, translator: S3PipelinesTranslator) -> dg.AssetsDefinition:
    table = cfg.tables[name]
    stream = source_stream_name(name, table)
    target = resolve_target(name, table, cfg.connections)
    plan = plan_for(cfg, name)
    spec = translator.get_asset_spec(S3PipelinesAssetData("table", name, stream, cfg, plan=plan, target=target))
    table_name = spec.metadata.get("dagster/table_name", f"{target}.{plan.table}")

    @dg.multi_asset(
        specs=[spec], name=spec.key.to_python_identifier(), partitions_def=partitions_def_for(cfg.streams[stream]),
        required_resource_keys={dagster_name(target), STATE}, pool=writer_pool(target, cfg.connections[target]),
        retry_policy=RETRY,
    )
    def _table(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        state = getattr(context.resources, STATE)
        sql = getattr(context.resources, dagster_name(target)).get_target()
        ledger = state.ledger()
        try:
            with ledger.hold_lease(context.run.run_id):  # the run is alive while it works
                report = load_partition(name, table, plan, sql, ledger, state.staging(),
                                        stream, context.partition_key, context.run.run_id, log=context.log.info)
        except TooManyParseExceptions as e:
            raise dg.Failure(description=str(e), metadata=report_metadata(e.report), allow_retries=False) from None
        except TableSchemaError as e:
            raise dg.Failure(description=str(e), metadata={"status": "failed"}, allow_retries=False) from None
        context.log.info(f"{plan.table}: {report.objects_applied} object(s), {report.rows_persisted} row(s) persisted, "
                         f"{report.rows_skipped_by_error} skipped by error")
        with sql.transaction() as tx:
            row_count = tx.execute(f"SELECT count(*) FROM {qident(plan.table)}")[0][0]
        return dg.MaterializeResult(metadata={**report_metadata(report), "dagster/table_name": table_name,
                                              "dagster/row_count": row_count})

    return _table


def report_metadata(r: LoadReport) -> dict:
    md = {
        "status": r.status,
        "rows_processed": r.rows_processed,
        "rows_persisted": r.rows_persisted,
        "rows_skipped_by_error": r.rows_skipped_by_error,
        "objects_applied": r.objects_applied,
        "objects_already_loaded": r.objects_already_loaded,
        "rebuilt": r.rebuilt,
        "parse_exceptions": problems_table([{"object": e.key or "", "line": e.line, "reason": e.reason}
                                            for e in r.exceptions]),
    }
    if r.intervals is not None:
        md["replaced_intervals"] = dg.MetadataValue.json(list(r.intervals))
    return md
