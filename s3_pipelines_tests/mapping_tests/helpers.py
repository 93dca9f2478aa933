"""Building blocks for catalog tests without S3: a config from dicts, record batches as the
reader makes them, and catalog targets (a DuckDB file, a fresh PostgreSQL schema)."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa

from s3_pipelines.catalog import apply_object
from s3_pipelines.catalog.entities import entity_config
from s3_pipelines.config.models import PipelinesConfig
from s3_pipelines.mapping import compile_mapping
from s3_pipelines.mapping.evaluate import dumps
from s3_pipelines.objects import S3Object
from s3_pipelines.readers import LocalFileSource, ReadOptions, read_batches


def config(blueprints: dict, mappings: list, **extra) -> PipelinesConfig:
    data = {
        "connections": {"lake": {"type": "s3", "bucket": "lake-bucket"}, "catalog": {"type": "duckdb", "path": "c.duckdb"}},
        "streams": {"users": {"connection": "lake", "select": {"prefixes": ["users/"]}},
                    "gone": {"connection": "lake", "select": {"prefixes": ["gone/"]}}},
        "blueprints": blueprints, "mappings": mappings, **extra,
    }
    return PipelinesConfig.model_validate(data)


def batches(records: list[dict]) -> list[pa.RecordBatch]:
    """Records as the stream stages them: written as JSON Lines and read back by the real reader
    (columns are the union of the fields, a missing field reads as null, mixed types as the reader
    keeps them), with provenance columns and 1-based lines."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "records.jsonl"
        path.write_bytes(b"".join(dumps(r) + b"\n" for r in records))
        bad: list = []
        out = list(read_batches(LocalFileSource(path, key="records.jsonl"), None, ReadOptions(), bad.append))
    assert not bad, bad
    return out


def obj(key: str = "users/a.jsonl", etag: str = "e1") -> S3Object:
    return S3Object("lake-bucket", key, etag, 1, dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))


class Catalog:
    """A config's mappings applied to one target."""

    def __init__(self, cfg: PipelinesConfig, target):
        self.cfg, self.target = cfg, target
        self.ec = entity_config(cfg)
        self.compiled = {m.name: compile_mapping(m) for m in self.ec.mappings}

    def apply(self, mapping: str, records: list[dict], o: S3Object | None = None, run_id: str = "run1"):
        o = o or obj(f"users/{uuid.uuid4().hex}.jsonl")
        return apply_object(self.target, self.ec, self.compiled[mapping], batches(records), o,
                            stream=self.compiled[mapping].spec.stream, partition="2026-11-20", run_id=run_id)
