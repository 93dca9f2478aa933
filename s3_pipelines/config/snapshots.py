"""`snapshot:` on a stream (Polytomic's `is_single_table` / `is_directory_snapshot`): every object is a
full snapshot of one table, the newest the current state. Shapes only; `s3_pipelines.snapshots` loads."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from .base import Model


class SnapshotConfig(Model):
    mode: Literal["single_table", "directory"]
    directory_glob_pattern: str | None = Field(
        None, description="directory mode: directories that are one table each, e.g. exports/*/ "
        "(relative to the connection prefix; * and ? within a segment)")
    time_from: Literal["last_modified", "key"] = Field(
        "last_modified", description="what orders snapshots: the object's LastModified, or a time in its key")
    key_time_regex: str | None = Field(
        None, description="time_from key: a regex searched in the key; its group `time` (or its first group) holds the time")
    key_time_format: str | None = Field(
        None, description="time_from key: strptime format of that text (ISO 8601 when not given)")
    primary_key: list[str] | None = Field(
        None, description="columns identifying a row, for inserted/updated/deleted counts (else a hash of the row)")
    target: str | None = Field(None, description="SQL connection written to; the only one when not given")
    table: str | None = Field(None, description="single_table: the table name (default: the stream's name)")

    @model_validator(mode="after")
    def _fields(self):
        if self.mode == "directory" and not self.directory_glob_pattern:
            raise ValueError("mode directory needs directory_glob_pattern")
        if self.mode == "single_table" and self.directory_glob_pattern:
            raise ValueError("directory_glob_pattern only applies to mode directory")
        if self.time_from == "key":
            if not self.key_time_regex:
                raise ValueError("time_from key needs key_time_regex")
            try:
                re.compile(self.key_time_regex)
            except re.error as e:
                raise ValueError(f"key_time_regex: {e}") from None
        elif self.key_time_regex or self.key_time_format:
            raise ValueError("key_time_regex / key_time_format only apply to time_from key")
        return self
