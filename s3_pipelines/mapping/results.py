"""What mapping records gives: entity results (`EntityResult`, `MapOutput`), and the templates of
mapped structures (relations: their shape with a `Leaf` per jq expression), made by
`make_template` and filled with one record's values by `fill`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EntityResult:
    """What one record (or item) asks of the catalog, before blueprint validation."""

    line: int | None
    operation: str  # create | delete
    blueprint: str
    identifier: Any = None  # a string when valid; checked by the catalog
    fields: dict = field(default_factory=dict)  # title/icon/team when mapped, properties, relations
    error: str | None = None  # jq runtime error: the entity cannot be written

    def entity(self) -> dict:
        """Port's entity shape (what test-mapping prints)."""
        return {"blueprint": self.blueprint, "identifier": self.identifier, **self.fields}


@dataclass
class MapOutput:
    results: list[EntityResult] = field(default_factory=list)
    filtered_out: int = 0
    # map_batch(columnar=True): the results as columns (vector.plan.EntityColumns) instead of
    # `results`, when every expression compiled and no record failed
    columns: Any = None

    def all_results(self) -> list[EntityResult]:
        return self.columns.results() if self.columns is not None else self.results


class Leaf:
    """A jq leaf of a relation structure: filled from its slot (the expression at `path`)."""

    __slots__ = ("path",)

    def __init__(self, path: tuple):
        self.path = path


def make_template(path: tuple, value, add):
    """The template of a mapped structure at `path`: each string (a jq expression) becomes a Leaf
    and is passed to `add(path, expression)`; dicts and lists keep their shape; constants stay."""
    if isinstance(value, str):
        add(path, value)
        return Leaf(path)
    if isinstance(value, dict):
        return {k: make_template(path + (k,), v, add) for k, v in value.items()}
    if isinstance(value, list):
        return [make_template(path + (i,), v, add) for i, v in enumerate(value)]
    return value  # a constant, kept as given


def fill(template, leaves: dict):
    """The template with each Leaf replaced by `leaves[leaf.path]` (one record's values)."""
    if isinstance(template, Leaf):
        return leaves[template.path]
    if isinstance(template, dict):
        return {k: fill(v, leaves) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, leaves) for v in template]
    return template
