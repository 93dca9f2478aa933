"""Polaris-style `tables` section (SPEC §1, seed 003). Owned by the tables work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TableConfig(BaseModel):
    """Placeholder until the tables work defines it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
