"""The base of every model of the file: unknown fields are errors, aliases and names both work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
