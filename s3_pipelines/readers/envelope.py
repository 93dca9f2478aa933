"""Airbyte envelope: `_airbyte_data` (a struct, or JSON text as in CSV files) is unwrapped into
top-level columns; `_airbyte_*` metadata columns follow the data columns. Files that are already
flattened keep their columns, metadata moved last."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from .base import Policy
from .records import Piece, json_dumps, json_loads, table_from_records
from .schema import is_airbyte_meta

DATA = "_airbyte_data"


class AirbyteEnvelope:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.wrapped = False  # seen `_airbyte_data` in this object: every record must have it

    def unwrap(self, piece: Piece) -> Piece:
        table = piece.table
        names = table.column_names
        meta = [n for n in names if is_airbyte_meta(n) and n != DATA]
        others = [n for n in names if not is_airbyte_meta(n)]
        if DATA not in names:
            if self.wrapped:  # the column vanished in this chunk: every record lacks it
                for i in range(table.num_rows):
                    self.policy.bad(piece.where(i), f"missing {DATA}")
                return piece.keep(np.zeros(table.num_rows, dtype=bool))
            return replace(piece, table=table.select(others + meta))
        self.wrapped = True
        col = table[DATA].combine_chunks()
        t = col.type
        if pa.types.is_struct(t):
            data, json_cols, ok = self._from_struct(col)
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            data, json_cols, ok = self._from_text(col, piece)
        else:
            data, json_cols, ok = None, frozenset(), np.zeros(len(col), dtype=bool)
        for i in np.flatnonzero(~ok):
            value = col[int(i)].as_py()
            self.policy.bad(piece.where(int(i)), f"missing {DATA}" if value is None else f"{DATA} is not a JSON object")
        rest = table.select(others + meta).filter(pa.array(ok)) if not ok.all() else table.select(others + meta)
        kept = piece.keep(ok)
        arrays = list(data.columns) if data is not None else []
        out_names = list(data.column_names) if data is not None else []
        for n in others + meta:
            if n not in out_names:
                arrays.append(rest[n])
                out_names.append(n)
        out = pa.Table.from_arrays(arrays, names=out_names) if arrays else rest.select([])
        raw = frozenset(n for n in piece.raw_text if n in meta or n in others)
        texts = _unwrapped_texts(kept.texts, others + meta) if kept.texts is not None else None
        return Piece(out, kept.rows, kept.lines, json_text=json_cols, raw_text=raw, texts=texts)

    def _from_struct(self, col: pa.StructArray):
        ok = col.is_valid().to_numpy(zero_copy_only=False)
        fields = col.flatten()
        data = pa.Table.from_arrays(fields, names=[f.name for f in col.type])
        if not ok.all():
            data = data.filter(pa.array(ok))
        return data, frozenset(), ok

    def _from_text(self, col: pa.Array, piece: Piece):
        ok = np.ones(len(col), dtype=bool)
        records = []
        for i, text in enumerate(col.to_pylist()):
            try:
                rec = None if text is None else json_loads(text)
            except ValueError:  # orjson.JSONDecodeError and json.JSONDecodeError are ValueErrors
                rec = "not json"
            if isinstance(rec, dict):
                records.append(rec)
            else:
                ok[i] = False
        data, json_cols = table_from_records(records)
        return data, json_cols, ok


def _unwrapped_texts(texts: pa.Array, rest: list[str]) -> pa.Array:
    """Each record as the mapping sees it: `_airbyte_data`'s fields, then the line's other fields
    (the `_airbyte_*` metadata) that the data does not have."""
    out = []
    for text in texts.to_pylist():
        line = json_loads(text)
        data = line[DATA]
        rec = dict(json_loads(data) if isinstance(data, str) else data)
        for name in rest:
            if name in line and name not in rec:
                rec[name] = line[name]
        out.append(json_dumps(rec))
    return pa.array(out, pa.string())
