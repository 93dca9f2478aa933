"""Entity assets of Port-style mappings (issue: Port-style entity mappings). Filled in by that work."""

import dagster as dg

from ..config.models import PipelinesConfig


def mapping_definitions(cfg: PipelinesConfig) -> list[dg.AssetsDefinition]:
    """One asset per mapping, downstream of its stream's records, same partitions."""
    return []
