"""Sync jobs: one partitioned asset and one job (`<sync>_job`) per `syncs:` entry, and a schedule
when the sync has one. Each kind is one module here (`sync_bulk`, `sync_model`) registered in
`SYNC_KINDS`: adding a kind is a config model, an engine module in `s3_pipelines.syncs` and one
module + one line here."""

from __future__ import annotations

from typing import Callable

from ..config.models import PipelinesConfig
from .sync_bulk import bulk_sync_definitions
from .sync_common import SyncDefinitions, sync_job_name, sync_key
from .sync_model import model_sync_definitions

SYNC_KINDS: dict[str, Callable[[PipelinesConfig, str], SyncDefinitions]] = {
    "bulk": bulk_sync_definitions,
    "model": model_sync_definitions,
}

__all__ = ["SYNC_KINDS", "SyncDefinitions", "sync_definitions", "sync_job_name", "sync_key"]


def sync_definitions(cfg: PipelinesConfig) -> SyncDefinitions:
    out = SyncDefinitions()
    for name, sync in cfg.syncs.items():
        out.add(SYNC_KINDS[sync.kind](cfg, name))
    return out
