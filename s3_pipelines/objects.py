"""What the engine knows of one S3 object, and the errors reading one can raise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # full key in the bucket (connection prefix included)
    etag: str  # without quotes
    size: int
    last_modified: dt.datetime  # timezone-aware UTC

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ObjectError(Exception):
    """An object that cannot be loaded (corrupt, truncated, too many bad records, changed).

    `line` is the 1-based line (or row) where the problem was found, when known.
    """

    def __init__(self, key: str, reason: str, line: int | None = None):
        self.key, self.reason, self.line = key, reason, line
        where = f" line {line}" if line is not None else ""
        super().__init__(f"{key}{where}: {reason}")


class ObjectChangedError(ObjectError):
    """The object was overwritten or deleted between listing and reading (ETag no longer matches)."""


class BadRecordError(ObjectError):
    """A single unreadable record, raised when the policy (skip_file / fail) stops at the first one."""
