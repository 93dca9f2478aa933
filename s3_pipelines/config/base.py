"""The base of every model of the file (unknown fields are errors, aliases and names both work), and
the check of names given twice that several sections share."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


def check_unique(names: Iterable[str], what: str) -> None:
    """ValueError `duplicate <what>: a, b` when a name is given more than once."""
    names = list(names)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate {what}: {', '.join(dup)}")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
