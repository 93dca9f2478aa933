"""Port-style `blueprints` and `mappings` sections (SPEC §1–2). Owned by the mapping work."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class BlueprintConfig(BaseModel):
    """Placeholder until the mapping work defines it: accepts Port's blueprint JSON or the YAML form."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class MappingConfig(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str | None = None
    stream: str | None = None
    target: str | None = None
    blueprint: str | None = None
    operation: Any = "create"
