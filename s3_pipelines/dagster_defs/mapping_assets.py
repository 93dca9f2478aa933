"""Entity assets: one per Port-style mapping, `<stream>/entities/<mapping>`, downstream of the
stream's records with the same partitions. A materialization applies the partition's loaded
objects not yet applied to the catalog (see s3_pipelines.catalog.apply); audit failures are
reported in metadata and by the `audit_failures` check, never by failing the run."""


import dagster as dg

from ..catalog import apply_partition, audit_rows, entity_counts
from ..catalog.entities import EntityConfig, entity_config
from ..catalog.export import failure_counts
from ..config.models import PipelinesConfig
from ..mapping import MappingSpec, compile_mapping
from .partitions import partitions_def_for
from ..config.names import dagster_name
from .resources import writer_pool
from .stream_assets import RETRY, STATE
from .translator import S3PipelinesAssetData, S3PipelinesTranslator

CHECK = "audit_failures"
FAILURES_SHOWN = 20


def entities_key(spec: MappingSpec) -> dg.AssetKey:
    """The key of a mapping's entities under the default translator."""
    return dg.AssetKey([dagster_name(spec.stream), "entities", dagster_name(spec.name)])


def mapping_definitions(cfg: PipelinesConfig, translator: S3PipelinesTranslator) -> list[dg.AssetsDefinition]:
    """One asset per mapping, downstream of its stream's records, same partitions."""
    if not cfg.mappings:
        return []
    ec = entity_config(cfg)
    return [_entity_asset(cfg, ec, spec, translator) for spec in ec.mappings]


def _entity_asset(cfg: PipelinesConfig, ec: EntityConfig, spec: MappingSpec,
                  translator: S3PipelinesTranslator) -> dg.AssetsDefinition:
    asset = translator.get_asset_spec(
        S3PipelinesAssetData("entities", spec.name, spec.stream, cfg, mapping=spec, target=spec.target))
    key = asset.key

    @dg.multi_asset(
        specs=[asset], name=key.to_python_identifier(), partitions_def=partitions_def_for(cfg.streams[spec.stream]),
        required_resource_keys={dagster_name(spec.target), STATE}, pool=writer_pool(spec.target, cfg.connections[spec.target]),
        retry_policy=RETRY,
        check_specs=[dg.AssetCheckSpec(CHECK, asset=key, description="No entity of the partition failed (audit log)")],
    )
    def entities(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        mapping = compile_mapping(spec)  # once per run; every record of every object goes through it
        target = getattr(context.resources, dagster_name(spec.target)).get_target()
        state = getattr(context.resources, STATE)
        ledger, partition = state.ledger(), context.partition_key
        with ledger.hold_lease(context.run.run_id):  # the run is alive while it works
            report = apply_partition(target, ec, mapping, ledger, state.staging(), partition,
                                     context.run.run_id, log=context.log.info)
        current = {(r.obj.key, r.obj.etag) for r in ledger.rows(spec.stream, partition, status="loaded")}
        failures = sum(n for k, n in failure_counts(target, spec.name, spec.stream, partition).items() if k in current)
        latest = [r for r in audit_rows(target, status="FAILURE", mapping=spec.name, stream=spec.stream,
                                        partition=partition, limit=10 * FAILURES_SHOWN, newest_first=True)
                  if (r["object_key"], r["etag"]) in current][:FAILURES_SHOWN]
        t = report.total()
        table = _failures_table(latest)
        return dg.MaterializeResult(
            metadata={
                "objects_applied": report.count("applied"),
                "objects_already_applied": report.count("skipped"),
                "records": report.records,
                "filtered_out": report.filtered_out,
                "created": t.created, "updated": t.updated, "deleted": t.deleted, "failed": t.failed,
                "partition_failures": failures,
                "dagster/row_count": entity_counts(target).get(spec.blueprint, 0),
                "latest_failures": table,
            },
            check_results=[dg.AssetCheckResult(
                check_name=CHECK, asset_key=key, passed=failures == 0, severity=dg.AssetCheckSeverity.WARN,
                description=f"partition {partition}: {failures} entity write(s) failed",
                metadata={"partition": partition, "failures": failures, "latest_failures": table},
            )],
        )

    return entities


def _failures_table(rows: list[dict]) -> dg.TableMetadataValue:
    cols = ["object_key", "line", "identifier", "action", "message"]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "int" if c == "line" else "string") for c in cols])
    return dg.MetadataValue.table(
        [dg.TableRecord({c: (r[c] if c == "line" else (str(r[c])[:300] if r[c] is not None else None)) for c in cols})
         for r in rows], schema=schema)
