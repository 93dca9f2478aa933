"""Destination assets (S3 as a target): one per `destinations:` entry, `destinations/<name>`,
downstream of what feeds it (a stream's records, a mapping's entities, a table) and partitioned like
that stream, so the stream's job runs it after them. A materialization writes the partition's
object versions not yet done for the destination (s3_pipelines.sinks.s3.feed)."""

# no `from __future__ import annotations`: Dagster reads the `context` annotation at definition time
import dagster as dg

from ..catalog.entities import entity_config
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..config.sinks import DestinationConfig
from ..config.tables import source_stream_name
from ..mapping import compile_mapping
from ..sinks.s3 import DEFAULT_TEMPLATE, CreateOnlyWriter, DestinationSpec, ObjectExistsError, WindowError
from ..sinks.s3.feed import entity_batches, feed_partition, table_batches
from ..tables import plan_for, resolve_target
from .partitions import partitions_def_for
from .stream_assets import RETRY, STATE
from .translator import S3PipelinesAssetData, S3PipelinesTranslator

KEYS_SHOWN = 50


def destination_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["destinations", dagster_name(name)])


def destination_spec(name: str, dest: DestinationConfig, connection_prefix: str) -> DestinationSpec:
    return DestinationSpec(
        name=name, prefix=connection_prefix + dest.prefix.lstrip("/"), format=dest.format,
        batch_window=dest.batch_window, key_template=dest.key_template or DEFAULT_TEMPLATE,
        time_field=dest.time_field, provenance=dest.provenance, compression_level=dest.compression_level)


def destination_stream(cfg: PipelinesConfig, dest: DestinationConfig) -> str:
    """The stream whose partitions feed the destination."""
    src = dest.from_
    if src.kind == "stream":
        return src.stream
    if src.kind == "mapping":
        return next(m.stream for m in cfg.mappings if m.name == src.mapping)
    return source_stream_name(src.table, cfg.tables[src.table])


def destination_definitions(cfg: PipelinesConfig, translator: S3PipelinesTranslator) -> list[dg.AssetsDefinition]:
    return [_destination_asset(cfg, name, translator) for name in cfg.destinations]


def _upstream(cfg: PipelinesConfig, dest: DestinationConfig, stream: str, translator: S3PipelinesTranslator):
    """(upstream asset key, transform of an object's records)."""
    src = dest.from_
    if src.kind == "stream":
        return translator.get_asset_spec(S3PipelinesAssetData("records", stream, stream, cfg)).key, None
    if src.kind == "mapping":
        spec = entity_config(cfg).mapping(src.mapping)
        key = translator.get_asset_spec(
            S3PipelinesAssetData("entities", spec.name, stream, cfg, mapping=spec, target=spec.target)).key
        return key, entity_batches(compile_mapping(spec))
    plan = plan_for(cfg, src.table)
    target = resolve_target(src.table, cfg.tables[src.table], cfg.connections)
    key = translator.get_asset_spec(S3PipelinesAssetData("table", src.table, stream, cfg, plan=plan, target=target)).key
    return key, table_batches(plan)


def _destination_asset(cfg: PipelinesConfig, name: str, translator: S3PipelinesTranslator) -> dg.AssetsDefinition:
    dest = cfg.destinations[name]
    stream = destination_stream(cfg, dest)
    conn = cfg.s3_connection(dest.connection)
    spec = destination_spec(name, dest, conn.prefix)
    upstream, transform = _upstream(cfg, dest, stream, translator)
    src = dest.from_
    asset = dg.AssetSpec(
        key=destination_key(name), deps=[upstream], group_name=dagster_name(stream), kinds={"s3", dest.format.split(".")[0]},
        description=dest.description or (
            f"S3 destination: the {'records' if src.kind == 'stream' else 'entities' if src.kind == 'mapping' else 'rows'}"
            f" of {src.kind} {src.name} in {dest.format} objects of one {dest.batch_window} window each, "
            f"under s3://{conn.bucket}/{spec.prefix} (create-only, content-addressed keys)."),
        metadata={"connection": dest.connection, "bucket": conn.bucket, "prefix": spec.prefix,
                  "format": dest.format, "batch_window": dest.batch_window, "key_template": spec.key_template,
                  "from": dg.MetadataValue.json(src.model_dump(exclude_none=True)),
                  "time_field": dest.time_field or "(arrival time)"},
    )

    @dg.multi_asset(
        specs=[asset], name=asset.key.to_python_identifier(), partitions_def=partitions_def_for(cfg.streams[stream]),
        required_resource_keys={dagster_name(dest.connection), STATE}, retry_policy=RETRY,
    )
    def _destination(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        state = getattr(context.resources, STATE)
        client = getattr(context.resources, dagster_name(dest.connection)).get_client()
        writer = CreateOnlyWriter(client, multipart_threshold=dest.multipart_threshold_mb * 2**20)
        ledger = state.ledger()
        try:
            with ledger.hold_lease(context.run.run_id):
                report = feed_partition(spec, stream, context.partition_key, ledger, state.staging(), writer,
                                        transform, log=context.log.info)
        except (WindowError, ObjectExistsError) as e:  # the data or the bucket decided: no retry
            raise dg.Failure(description=f"destination {name}: {e}", allow_retries=False) from None
        objects = report.objects
        return dg.MaterializeResult(metadata={
            "objects_written": sum(o.created for o in objects),
            "objects_already_there": sum(not o.created for o in objects),
            "rows": sum(o.rows for o in objects),
            "bytes": sum(o.bytes for o in objects),
            "inputs": len(report.inputs),
            "inputs_already_done": report.already_done,
            "aborted_uploads": len(report.aborted_uploads),
            "keys": dg.MetadataValue.json([o.key for o in objects[:KEYS_SHOWN]]),
            "objects": dg.MetadataValue.table(
                [dg.TableRecord({"key": o.key, "window_start": o.window_start.isoformat(), "rows": o.rows,
                                 "bytes": o.bytes, "etag": o.etag, "created": o.created}) for o in objects[:KEYS_SHOWN]],
                schema=dg.TableSchema(columns=[
                    dg.TableColumn("key", "string"), dg.TableColumn("window_start", "string"),
                    dg.TableColumn("rows", "int"), dg.TableColumn("bytes", "int"), dg.TableColumn("etag", "string"),
                    dg.TableColumn("created", "bool")])),
            "dagster/row_count": sum(o.rows for o in objects),
        })

    return _destination
