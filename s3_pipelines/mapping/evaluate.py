"""Run a mapping's jq program over a batch of records: one call for the whole batch (NDJSON in,
one JSON value out per record), falling back to one call per record when the batch cannot be
run as a whole (the program reads `input`, halts, or an error escaped), so one bad record never
takes the others down with it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass

import jq
import orjson

from ..readers.records import json_loads
from .port_jq import clean_jq_message


@dataclass(frozen=True)
class RecordFailure:
    """The program produced nothing usable for this record (halt, or an error outside any guard)."""

    message: str


def _default(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    return str(v)


def dumps(value) -> bytes:
    """Compact JSON; integers beyond 64 bits (orjson refuses them) keep their digits."""
    try:
        return orjson.dumps(value, default=_default)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


loads = json_loads  # exact integers beyond 64 bits


class JqBatchEvaluator:
    """Compiled once per mapping; `run` takes the JSON texts of the program's inputs."""

    def __init__(self, program_text: str, batchable: bool = True):
        self.text = program_text
        self.program = jq.compile(program_text)
        self.batchable = batchable

    def run(self, inputs: list[bytes]) -> list:
        if not inputs:
            return []
        if self.batchable:
            try:
                out = self.program.input_text(b"\n".join(inputs).decode()).text()
            except Exception:  # noqa: BLE001 - jq raises ValueError or its own; retried per record below
                out = None
            if out is not None:
                lines = out.split("\n") if out else []
                if len(lines) == len(inputs):
                    return [loads(line) for line in lines]
        return [self._one(i) for i in inputs]

    def _one(self, data: bytes):
        try:
            out = self.program.input_text(data.decode()).text()
        except Exception as e:  # noqa: BLE001
            return RecordFailure(clean_jq_message(str(e)))
        if not out:
            return RecordFailure("the jq program stopped (halt) without a result")
        return loads(out.split("\n", 1)[0])
