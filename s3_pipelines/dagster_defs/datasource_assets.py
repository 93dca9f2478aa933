"""Data sources in Dagster: each one an external asset (`datasources/<name>`, no materialization of
ours: the objects are someone else's), observed by one sensor that lists each active data source's
prefix and records object count, bytes and the newest object's time as an observation. A disabled
data source's asset says so (definition metadata and every observation); the sensors of streams
selecting it skip with the reason (`datasource_skip_reason`)."""

from __future__ import annotations

import dagster as dg

from ..config.models import PipelinesConfig, StreamConfig
from ..config.names import dagster_name
from ..datasources import DataSource, Registry, observe, status_reason, sync_config
from ..ledger import Ledger
from .stream_assets import STATE

GROUP = "datasources"
OBSERVE_INTERVAL_SECONDS = 300


def datasource_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, dagster_name(name)])


def _known(cfg: PipelinesConfig) -> dict[str, tuple[str, str, DataSource | None]]:
    """name -> (connection, prefix, registry row): the file's data sources and the registry's
    (the file's are registered here first, so their ids exist)."""
    rows: dict[str, DataSource] = {}
    registry = Registry.open(cfg) if cfg.datasources else Registry.open_existing(cfg)
    if registry is not None:
        sync_config(cfg, registry)  # problems are reported by validate
        rows = {d.name: d for d in registry.all()}
    out = {n: (d.connection, d.prefix, rows.get(n)) for n, d in cfg.datasources.items()}
    out.update({n: (d.connection, d.prefix, d) for n, d in rows.items() if n not in out})
    return out


def _metadata(ds: DataSource, cfg: PipelinesConfig) -> dict:
    d = ds.to_json(cfg)
    meta = {
        "dataSourceId": d["dataSourceId"], "dataSourceName": d["dataSourceName"], "prefix": d["prefix"],
        "disabled": d["disabled"], "status": "disabled" if ds.disabled else "active", "connection": d["connection"],
        "uri": dg.MetadataValue.url(d["uri"]) if d.get("uri") else "", "created_at": d["createdAt"],
        "created_by": d["createdBy"],
    }
    if ds.disabled:
        meta.update(disabled_at=ds.disabled_at, disabled_by=ds.disabled_by)
    if ds.object_count is not None:
        meta.update(object_count=ds.object_count, bytes=ds.bytes, stats_complete=bool(ds.stats_complete))
    if ds.newest_object_at:
        meta["newest_object_at"] = ds.newest_object_at
    if ds.observe_error:
        meta["error"] = ds.observe_error
    return meta


def datasource_definitions(cfg: PipelinesConfig) -> tuple[list[dg.AssetSpec], list[dg.SensorDefinition]]:
    known = _known(cfg)
    if not known:
        return [], []
    specs = []
    for name, (conn, prefix, row) in sorted(known.items()):
        disabled = row is not None and row.disabled
        specs.append(dg.AssetSpec(
            key=datasource_key(name), group_name=GROUP, kinds={"s3"},
            description=(f"Data source {name}: prefix {prefix!r} of connection {conn}"
                         + (f" — DISABLED since {row.disabled_at} by {row.disabled_by}" if disabled else "")),
            metadata={"connection": conn, "prefix": prefix, "status": "disabled" if disabled else "active",
                      **({"dataSourceId": row.id} if row is not None else {})},
            tags={"s3_pipelines/datasource": "disabled" if disabled else "active"},
        ))
    names = set(known)
    conns = sorted({dagster_name(c) for c, _, _ in known.values()})

    @dg.sensor(
        name="datasources_observation_sensor", minimum_interval_seconds=OBSERVE_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING, required_resource_keys={STATE, *conns},
        description="Lists each active data source's prefix: object count, bytes, newest object (observations)",
    )
    def observe_datasources(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        registry = Registry(getattr(context.resources, STATE).ledger())
        sync_config(cfg, registry)
        clients: dict = {}

        def client_for(connection: str):
            if connection not in clients:
                clients[connection] = getattr(context.resources, dagster_name(connection)).get_client()
            return clients[connection]

        events = []
        for ds in registry.all():
            if ds.name not in names:  # created after this code location loaded: seen on reload
                context.log.info(f"data source {ds.name} is not in the definitions yet (reload the code location)")
                continue
            if not ds.disabled:
                ds = observe(cfg, registry, ds, client_for)
            events.append(dg.AssetObservation(asset_key=datasource_key(ds.name), metadata=_metadata(ds, cfg)))
        gone = names - {d.name for d in registry.all()}
        for name in sorted(gone):  # removed since the code location loaded
            events.append(dg.AssetObservation(asset_key=datasource_key(name),
                                              metadata={"status": "deleted", "disabled": True}))
        if not events:
            return dg.SensorResult(skip_reason="no data sources")
        return dg.SensorResult(asset_events=events)

    return specs, [observe_datasources]


def datasource_skip_reason(ledger: Ledger, stream: StreamConfig) -> str | None:
    """Why a stream's sensor must not look for objects now: its data source is disabled or gone."""
    if stream.select.datasource is None:
        return None
    return status_reason(Registry(ledger), stream.select.datasource)

