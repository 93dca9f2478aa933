"""Arrow IPC and Feather (v2, which is the Arrow IPC file format) through a seekable file: the footer
says where each record batch is, and batches are read one at a time, never the whole file. An
object without the file format's `ARROW1` magic is read as the IPC stream format, batch by batch."""

from __future__ import annotations

from typing import BinaryIO, Iterator

import pyarrow as pa

from .base import Format, ObjectSource, ReadOptions, seekable_pieces
from .records import Piece

FILE_MAGIC = b"ARROW1"


def read_arrow(source: ObjectSource, opts: ReadOptions) -> Iterator[Piece]:
    return seekable_pieces(source, _batches, "Arrow IPC", opts.batch_rows)


def _batches(f: BinaryIO) -> Iterator[pa.RecordBatch]:
    file_format = f.read(len(FILE_MAGIC)) == FILE_MAGIC
    f.seek(0)
    if file_format:
        reader = pa.ipc.open_file(f)
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    else:
        batches = iter(pa.ipc.open_stream(f))
    return map(_decoded, batches)


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary-encoded columns as their values (staging and typing see plain columns)."""
    if not any(pa.types.is_dictionary(t) for t in batch.schema.types):
        return batch
    cols = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


FORMAT = Format("arrow", (".arrow", ".feather", ".ipc"), read_arrow, random_access=True, magic=FILE_MAGIC,
                title="Arrow IPC")
