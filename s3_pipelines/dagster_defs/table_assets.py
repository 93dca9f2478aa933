"""Polaris-style table assets: one per table, downstream of its stream's records and partitioned
like them. A materialization is one load of the partition (s3_pipelines.tables.load), reading the
staged Parquet of the partition's objects; its metadata is Polaris' job report."""

# no `from __future__ import annotations`: Dagster reads the `context` annotation at definition time
import dagster as dg

from ..config.models import PipelinesConfig
from ..config.tables import source_stream_name
from ..tables import LoadReport, TooManyParseExceptions, load_partition, plan_for, resolve_target
from ..tables.table_schema import TableSchemaError
from .partitions import partitions_def_for
from .stream_assets import STATE, records_key


def table_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["tables", name])


def table_definitions(cfg: PipelinesConfig) -> list[dg.AssetsDefinition]:
    """One asset per table, downstream of its stream's records, same partitions."""
    return [_table_asset(cfg, name) for name in cfg.tables]


def _table_asset(cfg: PipelinesConfig, name: str) -> dg.AssetsDefinition:
    table = cfg.tables[name]
    stream = source_stream_name(name, table)
    target = resolve_target(name, table, cfg.connections)
    plan = plan_for(cfg, name)
    columns = ", ".join(f"{c.name} {c.kind}" + (f" ({c.func})" if c.func else "") for c in plan.columns)

    @dg.asset(
        key=table_key(name), deps=[records_key(stream)], partitions_def=partitions_def_for(cfg.streams[stream]),
        group_name=stream, kinds={cfg.connections[target].type},
        description=table.description or f"Table {plan.table} in {target}, loaded from stream {stream} "
                                         f"({table.ingestion_mode}{', rollup' if plan.rollup else ''}).",
        required_resource_keys={target, STATE},
        metadata={"table": plan.table, "target": target, "ingestion_mode": table.ingestion_mode,
                  "rollup": plan.rollup, "columns": columns, "max_parse_exceptions": table.max_parse_exceptions},
    )
    def _table(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        state = getattr(context.resources, STATE)
        sql = getattr(context.resources, target).get_target()
        try:
            report = load_partition(name, table, plan, sql, state.ledger(), state.staging(context.resources),
                                    stream, context.partition_key, context.run.run_id, log=context.log.info)
        except TooManyParseExceptions as e:
            raise dg.Failure(description=str(e), metadata=report_metadata(e.report)) from None
        except TableSchemaError as e:
            raise dg.Failure(description=str(e), metadata={"status": "failed"}) from None
        context.log.info(f"{plan.table}: {report.objects_applied} object(s), {report.rows_persisted} row(s) persisted, "
                         f"{report.rows_skipped_by_error} skipped by error")
        return dg.MaterializeResult(metadata=report_metadata(report))

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
        "parse_exceptions": dg.MetadataValue.md(_exceptions_md(r)),
    }
    if r.intervals is not None:
        md["replaced_intervals"] = ", ".join(r.intervals) or "none"
    return md


def _exceptions_md(r: LoadReport) -> str:
    if not r.exceptions:
        return "no parse exceptions"
    lines = ["| object | line | reason |", "|---|---|---|"]
    for e in r.exceptions[:20]:
        lines.append(f"| {_md(e.key or '')} | {'' if e.line is None else e.line} | {_md(e.reason)} |")
    if r.rows_skipped_by_error > len(r.exceptions[:20]):
        lines.append(f"\n{r.rows_skipped_by_error} in all; the first {len(r.exceptions[:20])} are shown.")
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]
