"""What the sync kinds' Dagster modules share: their definitions' shape and their names."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from ..config.names import dagster_name


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
    return f"{dagster_name(name)}_job"


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["syncs", dagster_name(name)])
