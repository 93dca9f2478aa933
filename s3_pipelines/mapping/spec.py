"""A mapping after config resolution: every default filled in, ready to compile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MappingSpec:
    name: str
    stream: str
    target: str
    blueprint: str
    identifier: str  # jq
    operation: str = "create"  # create | delete
    delete_dependents: bool = True
    filter: str | None = None  # jq; None: every record
    items: str | None = None  # jq yielding an array (itemsToParse)
    items_name: str = "item"
    title: str | None = None
    icon: str | None = None
    team: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    relations: dict[str, Any] = field(default_factory=dict)  # jq, or a structure whose string leaves are jq
    origin: str = ""  # YAML path (and file element) for messages

    @property
    def consumer(self) -> str:
        """Name of this mapping's load marks on its target."""
        return f"mapping:{self.name}"
