"""S3 as a target (SPEC §1 `destinations:` and `syncs:`, seeds 001 and 002): shapes only. References
to connections, streams, mappings and tables, the key template and the window are checked by
`s3_pipelines.check_sinks`.

- a destination (Pipedream): the new records of a stream (or the entities of a mapping, or the rows
  of a table) batched by window into create-only objects under a prefix;
- a bulk sync (Polytomic): every selected stream of a source connection copied per day to a
  destination connection, `snapshot` (replace) or `replicate` (merge by key, `_deleted_at`);
- a model sync (Polytomic): a model read from one object or an archive of files, written per day to
  an S3 prefix in a format or to a catalog table.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .base import Model

TargetFormat = Literal["ndjson.gz", "csv", "json", "json-doc", "parquet"]
SourceFormat = Literal["csv", "json", "jsonl", "parquet"]


class FromConfig(Model):
    """What feeds a destination: exactly one of a stream's records, a mapping's entities, a table's rows."""

    stream: str | None = None
    mapping: str | None = None
    table: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [n for n in ("stream", "mapping", "table") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of stream, mapping, table")
        return self

    @property
    def kind(self) -> str:
        return "stream" if self.stream is not None else "mapping" if self.mapping is not None else "table"

    @property
    def name(self) -> str:
        return self.stream or self.mapping or self.table


class DestinationConfig(Model):
    connection: str
    description: str | None = None
    prefix: str = Field("", description="key prefix under the connection's own prefix, e.g. exports/events/")
    format: TargetFormat = "ndjson.gz"
    batch_window: str = Field("1m", description="window length: a number and s, m, h or d (Pipedream: 1m)")
    from_: FromConfig = Field(alias="from")
    key_template: str | None = Field(
        None, description="default {prefix}{YYYY}/{MM}/{DD}/{HH}/{YYYY}-{MM}-{DD}-{HH}-{mm}-{SS}-{id}{ext}; "
        "{id} is a hash of the object's content")
    time_field: str | None = Field(None, description="a record field holding the time that picks the window; "
                                   "default: the source object's arrival (LastModified)")
    provenance: bool = Field(False, description="also write the _s3_* columns (bucket, key, etag, row, line)")
    compression_level: int | None = Field(None, ge=1, le=9, description="ndjson.gz: gzip level (default 6)")
    multipart_threshold_mb: int = Field(64, ge=5, description="objects this large or larger go up in parts")


# --- syncs -----------------------------------------------------------------------------------


class BulkSyncConfig(Model):
    kind: Literal["bulk"]
    description: str | None = None
    source: str = Field(description="an s3 connection: its streams are copied")
    destination: str = Field(description="an s3 connection written to")
    subfolder: str = ""
    format: TargetFormat = "parquet"
    mode: Literal["snapshot", "replicate"] = "snapshot"
    streams: list[str] | None = Field(None, description="default: every stream of the source connection")
    primary_key: dict[str, list[str]] = Field(default_factory=dict, description="replicate: key columns per stream")
    schedule: str | None = Field(None, description="cron: each tick syncs the previous day of every stream")
    start: str | None = Field(None, description="first day partition (YYYY-MM-DD); it also copies older objects. "
                              "Absent: the earliest first partition of its streams (their first arrival)")
    server_side_copy: bool = Field(True, description="copy objects inside S3 when nothing needs converting")


class ModelSource(Model):
    connection: str
    model_from: Literal["single_file", "multi_file_archive"]
    key: str = Field(min_length=1, description="the object (or the zip / tar.gz archive), under subfolder")
    subfolder: str = ""
    file_format: SourceFormat = "csv"
    skip_lines: int = Field(0, ge=0)
    csv_has_headers: bool = True


class ModelS3Target(Model):
    connection: str
    subfolder: str = ""
    format: TargetFormat = "csv"


class ModelTableTarget(Model):
    catalog: str
    table: str = Field(min_length=1)


class ModelSyncConfig(Model):
    kind: Literal["model"]
    description: str | None = None
    source: ModelSource
    target: ModelS3Target | ModelTableTarget
    mode: Literal["create", "update", "update_or_create", "replace", "append"] = "replace"
    primary_key: list[str] = Field(default_factory=list)
    schedule: str | None = None
    start: str = "2020-01-01"

    @model_validator(mode="after")
    def _key_when_merging(self):
        if self.mode in ("create", "update", "update_or_create") and not self.primary_key:
            raise ValueError(f"mode {self.mode} needs primary_key")
        return self


SyncConfig = Annotated[Union[BulkSyncConfig, ModelSyncConfig], Field(discriminator="kind")]
