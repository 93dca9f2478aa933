"""Parquet through a seekable file: row groups are read batch by batch, never the whole file."""

from __future__ import annotations

from typing import Iterator

import pyarrow.parquet as pq

from .base import Format, ObjectSource, ReadOptions, seekable_pieces
from .records import Piece


def read_parquet(source: ObjectSource, opts: ReadOptions) -> Iterator[Piece]:
    return seekable_pieces(source, lambda f: pq.ParquetFile(f).iter_batches(batch_size=opts.batch_rows),
                           "Parquet", opts.batch_rows)


FORMAT = Format("parquet", (".parquet", ".pq"), read_parquet, random_access=True, magic=b"PAR1", title="Parquet")
