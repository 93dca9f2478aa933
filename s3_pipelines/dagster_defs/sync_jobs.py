"""Sync jobs: one partitioned asset and one job (`<sync>_job`) per `syncs:` entry, and a schedule
when the sync has one. Each kind is one module here (`sync_bulk`, `sync_model`) registered in
`SYNC_KINDS`: adding a kind is a config model, an engine module in `s3_pipelines.syncs` and one
module + one line here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import dagster as dg

from ..config.models import PipelinesConfig


@dataclass
class SyncDefinitions:
    assets: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    schedules: list = field(default_factory=list)

    def add(self, other: "SyncDefinitions") -> None:
        self.assets += other.assets
        self.jobs += other.jobs
        self.schedules += other.schedules


def sync_job_name(name: str) -> str:
    return f"{name}_job"


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["syncs", name])


def _kinds() -> dict[str, Callable[[PipelinesConfig, str], SyncDefinitions]]:
    from .sync_bulk import bulk_sync_definitions
    from .sync_model import model_sync_definitions

    return {"bulk": bulk_sync_definitions, "model": model_sync_definitions}


def sync_definitions(cfg: PipelinesConfig) -> SyncDefinitions:
    out = SyncDefinitions()
    kinds = _kinds()
    for name, sync in cfg.syncs.items():
        out.add(kinds[sync.kind](cfg, name))
    return out
