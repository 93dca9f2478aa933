"""What each asset the config makes is called and how it shows in Dagster: keys, groups, kinds,
owners, tags, descriptions and definition metadata, in one place (as `DagsterDltTranslator` and
`DagsterSlingTranslator` do). Subclass it and pass it to `build_definitions` or the component:

    class MyTranslator(S3PipelinesTranslator):
        def get_asset_spec(self, data):
            spec = super().get_asset_spec(data)
            return spec.replace_attributes(owners=["team:ingest"]) if data.role == "records" else spec

Execution stays with the asset factories (partitions, pools, retries, checks, resources); a key
changed here is used everywhere, downstream dependencies and jobs included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import dagster as dg

from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..config.tables import POLARIS_MAX_PARSE_EXCEPTIONS

if TYPE_CHECKING:
    from ..mapping import MappingSpec
    from ..tables.plan import TablePlan


@dataclass(frozen=True)
class S3PipelinesAssetData:
    """One asset the config makes, as the translator is asked about it."""

    role: Literal["objects", "records", "entities", "table"]
    name: str  # the stream, mapping or table as pipelines.yaml names it
    stream: str  # the stream whose records it is built from
    config: PipelinesConfig
    mapping: MappingSpec | None = None  # role "entities"
    plan: TablePlan | None = None  # role "table"
    target: str | None = None  # the SQL connection written (entities, table)


class S3PipelinesTranslator:
    """The default names: `<stream>/objects`, `<stream>/records`, `<stream>/entities/<mapping>`,
    `tables/<table>`, each in its stream's group."""

    def get_asset_spec(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        spec = {"objects": self._objects, "records": self._records, "entities": self._entities,
                "table": self._table}[data.role](data)
        # owners and tags from the stream's config, on every asset built from the stream
        stream = data.config.streams.get(data.stream)
        owners, tags = list(getattr(stream, "owners", None) or []), dict(getattr(stream, "tags", None) or {})
        if owners or tags:
            spec = spec.replace_attributes(owners=[*spec.owners, *(o for o in owners if o not in spec.owners)],
                                           tags={**tags, **spec.tags})
        return spec

    def _upstream_key(self, data: S3PipelinesAssetData, role: str) -> dg.AssetKey:
        return self.get_asset_spec(S3PipelinesAssetData(role, data.stream, data.stream, data.config)).key

    def _objects(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        stream = data.config.streams[data.name]
        what = stream.description or f"Objects of stream {data.name}"
        return dg.AssetSpec(
            key=dg.AssetKey([dagster_name(data.name), "objects"]), group_name=dagster_name(data.stream), kinds={"s3"},
            description=f"{what}: the object versions that arrived in each window (from the load ledger).",
            # a stream selecting a data source reads that asset's objects (datasource_assets)
            deps=[dg.AssetKey(["datasources", dagster_name(stream.select.datasource)])] if stream.select.datasource else [],
            metadata={"connection": stream.connection, "format": stream.format,
                      "select": dg.MetadataValue.json(stream.select.model_dump(exclude_none=True))},
        )

    def _records(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        stream = data.config.streams[data.name]
        what = stream.description or f"Objects of stream {data.name}"
        return dg.AssetSpec(
            key=dg.AssetKey([dagster_name(data.name), "records"]), deps=[self._upstream_key(data, "objects")],
            group_name=dagster_name(data.stream), kinds={"s3", "parquet"},
            description=f"{what}: parsed, typed records with provenance, staged as Parquet.",
            metadata={"format": stream.format, "compression": stream.compression, "on_error": stream.on_error},
        )

    def _entities(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        spec = data.mapping
        op = spec.operation if spec.operation == "create" else \
            f"delete (deleteDependents: {str(spec.delete_dependents).lower()})"
        return dg.AssetSpec(
            key=dg.AssetKey([dagster_name(data.stream), "entities", dagster_name(spec.name)]), deps=[self._upstream_key(data, "records")],
            group_name=dagster_name(data.stream), kinds={data.config.connections[data.target].type, "jq"},
            description=f"Entities of blueprint {spec.blueprint} ({op}) mapped by jq from the records of "
                        f"{data.stream} into the `{data.target}` catalog.",
            metadata={"blueprint": spec.blueprint, "operation": op, "target": data.target, "defined_at": spec.origin},
        )

    def _table(self, data: S3PipelinesAssetData) -> dg.AssetSpec:
        table, plan = data.config.tables[data.name], data.plan
        columns = dg.TableSchema(columns=[
            dg.TableColumn(c.name, c.kind, description=f"{c.func} (rollup)" if c.func else None) for c in plan.columns])
        return dg.AssetSpec(
            key=dg.AssetKey(["tables", dagster_name(data.name)]), deps=[self._upstream_key(data, "records")],
            group_name=dagster_name(data.stream), kinds={data.config.connections[data.target].type},
            description=table.description or f"Table {plan.table} in {data.target}, loaded from stream "
                                             f"{data.stream} ({table.ingestion_mode}{', rollup' if plan.rollup else ''}).",
            metadata={"dagster/table_name": f"{data.target}.{plan.table}", "dagster/column_schema": columns,
                      "target": data.target, "ingestion_mode": table.ingestion_mode, "rollup": plan.rollup,
                      # Polaris' default (2^31 - 1) means no limit: say so rather than print the number
                      "max_parse_exceptions": "no limit" if table.max_parse_exceptions == POLARIS_MAX_PARSE_EXCEPTIONS
                      else table.max_parse_exceptions},
        )
