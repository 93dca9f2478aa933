"""Secret values in the config: an env reference (`{env: NAME}`) or, discouraged, a literal.

The value is resolved only when a client is built and is never part of repr/str/JSON dumps.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class SecretRef(BaseModel):
    """`{env: NAME}` reads the variable when needed. `{value: ...}` holds a value resolved elsewhere
    (a Dagster `EnvVar`); the loader refuses it in files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    value: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_plain_string(cls, data):
        if isinstance(data, str):
            raise ValueError("secrets are not written in the file: use {env: VARIABLE_NAME}")
        return data

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.env is None) == (self.value is None):
            raise ValueError("give either {env: VARIABLE} or a literal value")
        return self

    def resolve(self) -> str:
        if self.value is not None:
            return self.value.get_secret_value()
        val = os.environ.get(self.env or "")
        if val is None:
            raise MissingSecretError(f"environment variable {self.env} is not set")
        return val

    def describe(self) -> str:
        """What may be shown to a user: where the secret comes from, never its value."""
        return f"env:{self.env}" if self.env else "<literal, hidden>"

    def __repr__(self) -> str:  # never the value
        return f"SecretRef({self.describe()})"

    __str__ = __repr__


class MissingSecretError(RuntimeError):
    pass


def last4(value: str | None) -> str:
    """Enough of a key id to tell keys apart in an error message (AKIA…WXYZ)."""
    if not value:
        return "<none>"
    return f"{value[:4]}…{value[-4:]}" if len(value) > 8 else "…"
