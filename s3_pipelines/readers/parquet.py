"""Parquet through a seekable file: row groups are read batch by batch, never the whole file."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..objects import ObjectError
from .base import Format, ObjectSource, ReadOptions
from .records import Piece


def read_parquet(source: ObjectSource, opts: ReadOptions) -> Iterator[Piece]:
    key = source.key
    f = source.open_random_access()
    try:
        size = f.seek(0, 2)
        f.seek(0)
        if not size:
            return
        try:
            batches = pq.ParquetFile(f).iter_batches(batch_size=opts.batch_rows)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise ObjectError(key, f"not a valid Parquet file: {e}") from None
        row = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as e:
                raise ObjectError(key, f"corrupt Parquet data: {e}", row + 1) from None
            n = batch.num_rows
            if n:
                yield Piece(pa.Table.from_batches([batch]), np.arange(row + 1, row + 1 + n, dtype=np.int64), None)
            row += n
    finally:
        f.close()


FORMAT = Format("parquet", (".parquet", ".pq"), read_parquet, random_access=True, magic=b"PAR1", title="Parquet")
