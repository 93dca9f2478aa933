"""Arrow IPC and Feather (v2, which is the Arrow IPC file format) through a seekable file: the footer
says where each record batch is, and batches are read one at a time, never the whole file. An
object without the file format's `ARROW1` magic is read as the IPC stream format, batch by batch."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

from ..objects import ObjectError
from .base import Format, ObjectSource, ReadOptions
from .records import Piece

FILE_MAGIC = b"ARROW1"
_ERRORS = (pa.ArrowException, OSError, ValueError)


def read_arrow(source: ObjectSource, opts: ReadOptions) -> Iterator[Piece]:
    key = source.key
    f = source.open_random_access()
    try:
        size = f.seek(0, 2)
        f.seek(0)
        if not size:
            return
        file_format = f.read(len(FILE_MAGIC)) == FILE_MAGIC
        f.seek(0)
        try:
            if file_format:
                reader = pa.ipc.open_file(f)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            else:
                batches = iter(pa.ipc.open_stream(f))
        except _ERRORS as e:
            raise ObjectError(key, f"not a valid Arrow IPC file: {e}") from None
        row = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except _ERRORS as e:
                raise ObjectError(key, f"corrupt Arrow IPC data: {e}", row + 1) from None
            for offset in range(0, batch.num_rows, opts.batch_rows):
                part = _decoded(batch.slice(offset, opts.batch_rows))
                n = part.num_rows
                yield Piece(pa.Table.from_batches([part]), np.arange(row + 1, row + 1 + n, dtype=np.int64), None)
                row += n
    finally:
        f.close()


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary-encoded columns as their values (staging and typing see plain columns)."""
    if not any(pa.types.is_dictionary(t) for t in batch.schema.types):
        return batch
    cols = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


FORMAT = Format("arrow", (".arrow", ".feather", ".ipc"), read_arrow, random_access=True, magic=FILE_MAGIC,
                title="Arrow IPC")
