"""Polaris-style table assets (issue: table ingestion). Filled in by that work."""

import dagster as dg

from ..config.models import PipelinesConfig


def table_definitions(cfg: PipelinesConfig) -> list[dg.AssetsDefinition]:
    """One asset per table, downstream of its stream's records, same partitions."""
    return []
