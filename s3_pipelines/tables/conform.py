"""Staged record batches in a table's declared input schema.

A stream may stage other types than a table declares (an inferred stream, or a table typing a column
differently from its stream). Casting is the readers' rule (vectorized first, value by value only for
a column whose cast fails); a value that does not fit is a parse exception of its row, as it would
have been had the table read the object itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..readers.options import ColumnSpec
from ..readers.schema import ARROW_TYPES, cast_column
from .plan import ROW_PROVENANCE


@dataclass(frozen=True)
class ParseException:
    key: str | None
    line: int | None  # source line, else record ordinal
    reason: str


def conform(batch: pa.RecordBatch | pa.Table, inputs) -> tuple[pa.Table, list[ParseException]]:
    """(table with exactly the input columns then provenance, exceptions for the rows dropped)."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    n = table.num_rows
    arrays, names, reasons = [], [], {}
    for name, type_ in inputs:
        target = ARROW_TYPES[type_]
        if name not in table.column_names:
            arr = pa.nulls(n, target)
        else:
            arr = table[name].combine_chunks()
            if not arr.type.equals(target):
                arr, bad = cast_column(arr, ColumnSpec(name=name, type=type_), "value")
                for i, reason in bad.items():
                    reasons.setdefault(i, reason)
        arrays.append(arr)
        names.append(name)
    for name, type_ in ROW_PROVENANCE.items():
        if name not in names:
            arrays.append(table[name] if name in table.column_names else pa.nulls(n, type_))
            names.append(name)
    out = pa.Table.from_arrays(arrays, names=names)
    if not reasons:
        return out, []
    idx = sorted(reasons)
    where = out.select(["_s3_key", "_s3_line", "_s3_row"]).take(pa.array(idx, pa.int64())).to_pylist()
    exceptions = [ParseException(w["_s3_key"], w["_s3_line"] if w["_s3_line"] is not None else w["_s3_row"],
                                 reasons[i]) for i, w in zip(idx, where)]
    keep = np.ones(n, dtype=bool)
    keep[list(reasons)] = False
    return out.filter(pa.array(keep)), exceptions
