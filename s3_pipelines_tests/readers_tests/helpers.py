"""Write bytes to a temp file named like an S3 key, read it back as one table plus bad records."""

from __future__ import annotations

import pyarrow as pa

from s3_pipelines.readers import PROVENANCE, BadRecord, LocalFileSource, ReadOptions, read_batches


def read_bytes(tmp_path, name: str, data: bytes, provenance=None, **opts) -> tuple[pa.Table | None, list[BadRecord]]:
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(data)
    bad: list[BadRecord] = []
    batches = list(read_batches(LocalFileSource(path, key=name), provenance, ReadOptions(**opts), bad.append))
    table = pa.Table.from_batches(batches).combine_chunks() if batches else None
    return table, bad


def read_batches_of(tmp_path, name: str, data: bytes, **opts) -> tuple[list[pa.RecordBatch], list[BadRecord]]:
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(data)
    bad: list[BadRecord] = []
    return list(read_batches(LocalFileSource(path, key=name), None, ReadOptions(**opts), bad.append)), bad


def data_rows(table: pa.Table) -> list[dict]:
    """Rows without provenance columns."""
    return table.drop_columns([c for c in PROVENANCE if c in table.column_names]).to_pylist()


def col(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()
