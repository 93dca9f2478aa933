"""`json-doc`: the window's records as one JSON array (Polytomic's "json-doc"), one record per
line so the document stays readable and streamable: `[\n{...},\n{...}\n]\n`."""

from __future__ import annotations

from typing import BinaryIO, Sequence

import pyarrow as pa

from ._rows import read_back, record_texts, texts_of


def encode(batches: Sequence[pa.RecordBatch], out: BinaryIO, provenance: bool = False) -> None:
    out.write(b"[")
    first = True
    for batch in batches:
        texts = record_texts(batch, provenance)
        if not texts:
            continue
        out.write((("\n" if first else ",\n") + ",\n".join(texts)).encode())
        first = False
    out.write(b"]\n" if first else b"\n]\n")


def decode(data: bytes) -> list[dict]:
    return texts_of(read_back(data, "object.json", "json"))
