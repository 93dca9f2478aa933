"""Snapshot streams in Dagster: one asset per snapshot table — `<stream>/snapshot` for a
single-table stream, `<stream>/snapshots/<directory>` for each directory of a directory stream —
each materializable on its own, and one job per stream holding them.

Directories are found when the definitions load: the ledger's rows plus one listing of the
selection (the listing is skipped, with a warning, when S3 cannot be reached). A directory that
appears later is registered by the sensors at once and becomes an asset at the next reload of the
code location (the UI's "Reload", or a restart of the code server)."""

import logging

import dagster as dg

from .. import ingest, selection, snapshots
from ..config.models import PipelinesConfig
from ..config.names import dagster_name
from ..connections.s3 import S3Client
from ..ledger import Ledger
from .resources import writer_pool
from .stream_assets import DISCOVERED_TAG, RETRY, STATE

log = logging.getLogger(__name__)


def snapshot_job_name(stream: str) -> str:
    return f"{dagster_name(stream)}_snapshot_job"


def snapshot_key(stream: str, directory: str, snap) -> dg.AssetKey:
    if snap.mode == "single_table":
        return dg.AssetKey([dagster_name(stream), "snapshot"])
    return dg.AssetKey([dagster_name(stream), "snapshots", snapshots.slug(snap, directory)])


def snapshot_directories(cfg: PipelinesConfig, name: str, client: S3Client | None = None) -> list[str]:
    """The snapshot tables of a stream: [''] for a single table, else the directories known to the
    ledger or listed now."""
    stream = cfg.streams[name]
    snap = stream.snapshot
    if snap.mode == "single_table":
        return [""]
    conn = cfg.s3_connection(stream.connection)
    keys = {r.obj.key for r in Ledger.from_config(cfg).rows(name)}
    try:
        client = client or S3Client.from_config(conn)
        keys |= {o.key for o in selection.iter_selected(client, stream.select, missing=[])}
    except Exception as e:  # noqa: BLE001 - the code location still loads, from the ledger alone
        log.warning("stream %s: listing its snapshot directories failed (%s); using the ledger's", name, e)
    return sorted({d for k in keys if (d := snapshots.directory_of(snap, conn.prefix, k)) is not None})


def snapshot_definitions(cfg: PipelinesConfig) -> tuple[list, dict, dict]:
    """(assets, stream -> job, stream -> {directory: asset key})."""
    assets, jobs, keys = [], {}, {}
    for name, stream in cfg.streams.items():
        if stream.snapshot is None:
            continue
        own = {d: snapshot_key(name, d, stream.snapshot) for d in snapshot_directories(cfg, name)}
        assets += [_snapshot_asset(cfg, name, d, k) for d, k in own.items()]
        keys[name] = own
        jobs[name] = dg.define_asset_job(snapshot_job_name(name), selection=dg.AssetSelection.assets(*own.values()),
                                         description=f"Apply the newest snapshot of stream {name}")
    return assets, jobs, keys


def _snapshot_asset(cfg: PipelinesConfig, name: str, directory: str, key: dg.AssetKey) -> dg.AssetsDefinition:
    stream = cfg.streams[name]
    snap, conn = stream.snapshot, stream.connection
    target = snapshots.target_of(cfg, snap)
    table = snapshots.table_name(name, snap, directory)
    where = f"directory {directory} of " if directory else ""

    @dg.asset(
        key=key, group_name=dagster_name(name), kinds={"s3", cfg.connections[target].type},
        description=f"The newest snapshot in {where}stream {name}, as table {table}",
        required_resource_keys={dagster_name(conn), STATE, dagster_name(target)}, pool=writer_pool(target, cfg.connections[target]),
        retry_policy=RETRY,
    )
    def _snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, dagster_name(conn)).get_client()
        ledger = getattr(context.resources, STATE).ledger()
        if context.run.tags.get(DISCOVERED_TAG) != "1":  # launched by hand: list this table's objects now
            found = [o for o in selection.iter_selected(client, stream.select, missing=[])
                     if snapshots.directory_of(snap, client.conn.prefix, o.key) == directory]
            ledger.register(name, found, ingest.partition_of(stream))
        report = snapshots.load_snapshot(cfg, name, directory, client, getattr(context.resources, dagster_name(target)).get_target(),
                                         ledger, context.run.run_id, log=context.log.info)
        for k in report.ignored_older:
            context.log.warning(f"{k}: older than the current snapshot {report.key}; ignored")
        return dg.MaterializeResult(metadata={
            "status": report.status, "snapshot": report.key or "", "snapshot_time": report.snapshot_time or "",
            "inserted": report.inserted, "updated": report.updated, "deleted": report.deleted,
            "ignored_older": dg.MetadataValue.json(report.ignored_older),
            "keys_without_time": dg.MetadataValue.json(report.unordered[:50]),
            "dagster/table_name": f"{target}.{table}", "dagster/row_count": report.rows,
        })

    return _snapshot
