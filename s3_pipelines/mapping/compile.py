"""Port webhook-mapping semantics over records: `compile_mapping(spec).map_records(records, key)`.

The jq input of a record is `{"body": record + {"_PORT_SOURCE_OBJECT_KEY": key}, "headers": {},
"queryParams": {}}` (what Port's Airbyte -> S3 webhook builds). `filter` must yield `true`; with
`itemsToParse` every array element is bound as `.item` (the filter then runs per item). Each
expression yields its first output (null when it has none).

`map_batch` takes an Arrow batch: expressions in the vectorized subset (see `vector/`) are
evaluated column-wise over it and only the others go through a jq program built from them
(`explain` says which, and why); `map_records` runs everything through the jq engine, one
program per mapping over the batch's records. Both give the same results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..readers.records import json_type
from .evaluate import JqBatchEvaluator, RecordFailure, dumps
from .port_jq import compile_jq
from .program import ERROR_KEY, build_program, uses_input
from .records import batch_lines, dict_inputs, jq_inputs, text_inputs
from .results import EntityResult, Leaf, MapOutput, fill, make_template
from .spec import MappingSpec
from .vector.plan import VectorPlan

_Leaf = Leaf  # the name catalog/bulk.py imports from here



@dataclass(frozen=True)
class _Slot:
    path: tuple  # ("identifier",) ("title",) ("properties", name) ("relations", name, *leaf path)


def _is_error(v) -> bool:
    return type(v) is dict and len(v) == 1 and ERROR_KEY in v


def _error_text(v) -> str:
    msg = v[ERROR_KEY]
    return msg if isinstance(msg, str) else dumps(msg).decode()


def _where(path: tuple) -> str:
    return "entity." + ".".join(str(p) for p in path)


class CompiledMapping:
    def __init__(self, spec: MappingSpec):
        self.spec = spec
        self.slots: list[_Slot] = []
        exprs: list[str] = []

        def add(path: tuple, expr: str) -> None:
            compile_jq(expr)  # a syntax error names its own expression, not the generated program
            self.slots.append(_Slot(path))
            exprs.append(expr)

        add(("identifier",), spec.identifier)
        if spec.operation == "create":
            for key in ("title", "icon", "team"):
                if getattr(spec, key) is not None:
                    add((key,), getattr(spec, key))
            for name, expr in spec.properties.items():
                add(("properties", name), expr)
            self.relation_templates: dict[str, Any] = {}
            for name, value in spec.relations.items():
                self.relation_templates[name] = make_template(("relations", name), value, add)
        else:
            self.relation_templates = {}
        for extra in (spec.filter, spec.items):
            if extra is not None:
                compile_jq(extra)
        self.slot_exprs = exprs
        self.program_text = build_program(exprs, spec.filter, spec.items, spec.items_name)
        all_exprs = exprs + [e for e in (spec.filter, spec.items) if e is not None]
        self.evaluator_uses_input = uses_input(all_exprs)
        self.evaluator = JqBatchEvaluator(self.program_text, batchable=not self.evaluator_uses_input)
        self._vector = None

    @property
    def vector(self):
        """The compiled (vectorized) path of this mapping."""
        if self._vector is None:
            self._vector = VectorPlan(self)
        return self._vector

    def explain(self, schema=None) -> list:
        """Per expression: compiled (vectorized over Arrow) or jq, and why not compiled, for
        batches of `schema` (None: what parsing alone decides)."""
        return self.vector.explain(schema)

    def reads_record_text(self, schema) -> bool:
        """Whether batches of `schema` run (partly) in jq, which reads each record's JSON text
        (`_s3_record`); when not, a reader may leave that column out (a batch whose values send an
        expression to jq after all raises readers.records.RecordTextOmitted)."""
        if os.environ.get("S3P_MAPPING_ENGINE", "auto") == "jq" or self.spec.items is not None \
                or self.evaluator_uses_input:
            return True
        f_ast, _, slots, _ = self.vector._static(schema)
        return (self.spec.filter is not None and f_ast is None) or any(a is None for a in slots)

    def map_batch(self, batch, object_key: str, engine: str | None = None, columnar: bool = False) -> MapOutput:
        """Entity results of one Arrow batch of an object's records (as staged or read: with
        `_s3_line`/`_s3_row`). `engine`: "auto" (default; `S3P_MAPPING_ENGINE` overrides) uses the
        compiled path where it applies, "jq" the jq engine for everything. `columnar`: a
        batch that compiled entirely and has no failures comes back as `out.columns` (for the
        catalog's bulk path) instead of `out.results`; `out.all_results()` gives results either way."""
        engine = engine or os.environ.get("S3P_MAPPING_ENGINE", "auto")
        if engine == "jq" or self.spec.items is not None or self.evaluator_uses_input:
            return self._map_inputs(jq_inputs(batch, object_key), batch_lines(batch))
        if not hasattr(batch, "to_batches"):
            pass
        elif batch.num_rows:
            batch = batch.combine_chunks().to_batches()[0]
        else:
            return MapOutput()
        out = MapOutput()
        self.vector.map_batch(batch, object_key, out, columnar=columnar and self.spec.operation == "create")
        return out

    # --- the seam ------------------------------------------------------------------------------

    def map_records(self, records: list[dict], object_key: str, lines: list[int | None] | None = None) -> MapOutput:
        """Entity results of one object's records, in record order. `records` are the records as
        read (they get `_PORT_SOURCE_OBJECT_KEY`); `lines` their source lines."""
        return self._map_inputs(dict_inputs(records, object_key), lines)

    def map_texts(self, texts: list[str], object_key: str, lines: list[int | None] | None = None) -> MapOutput:
        """Entity results of records given as their JSON texts (exactly what jq sees on the raw lines)."""
        return self._map_inputs(text_inputs(texts, object_key), lines)

    def _map_inputs(self, inputs: list[bytes], lines: list[int | None] | None) -> MapOutput:
        outputs = self.evaluator.run(inputs)
        out = MapOutput()
        for i, value in enumerate(outputs):
            self._collect(value, lines[i] if lines is not None else i + 1, out)
        return out

    # --- outputs -> results ----------------------------------------------------------------------

    def _fail(self, line, message: str) -> EntityResult:
        return EntityResult(line, self.spec.operation, self.spec.blueprint, error=message)

    def _collect(self, value, line, out: MapOutput) -> None:
        if isinstance(value, RecordFailure):
            out.results.append(self._fail(line, f"jq error: {value.message}"))
            return
        if self.spec.items is None:
            self._entity(value, line, out)
            return
        head = value[0]
        if head is True:
            for item in value[1:]:
                self._entity(item, line, out)
        elif _is_error(head):
            out.results.append(self._fail(line, f"jq error in itemsToParse: {_error_text(head)}"))
        elif head is not None:  # null: no items
            out.results.append(self._fail(line, f"itemsToParse must yield an array, not {json_type(head)}"))

    def _entity(self, values: list, line, out: MapOutput) -> None:
        flt = values[0]
        if _is_error(flt):
            out.results.append(self._fail(line, f"jq error in filter: {_error_text(flt)}"))
            return
        if flt is not True:
            out.filtered_out += 1
            return
        slot_values = values[1:]
        errors = [f"jq error in {_where(s.path)}: {_error_text(v)}"
                  for s, v in zip(self.slots, slot_values) if _is_error(v)]
        if errors:
            ident = slot_values[0] if not _is_error(slot_values[0]) else None
            res = self._fail(line, "; ".join(errors))
            res.identifier = ident
            out.results.append(res)
            return
        fields: dict = {}
        props: dict = {}
        leaves: dict[tuple, Any] = {}
        ident = None
        for slot, v in zip(self.slots, slot_values):
            kind = slot.path[0]
            if kind == "identifier":
                ident = v
            elif kind == "properties":
                props[slot.path[1]] = v
            elif kind == "relations":
                leaves[slot.path] = v
            else:
                fields[kind] = v
        if self.spec.operation == "create":
            fields["properties"] = props
            fields["relations"] = {name: fill(t, leaves) for name, t in self.relation_templates.items()}
        out.results.append(EntityResult(line, self.spec.operation, self.spec.blueprint, ident, fields))


def compile_mapping(spec: MappingSpec) -> CompiledMapping:
    """Compile every jq expression of a mapping once (JqSyntaxError when one does not compile)."""
    return CompiledMapping(spec)
