"""A mapping's compiled path: which of its expressions run vectorized over Arrow batches and which
stay with the jq engine, decided per expression (and per batch schema), and `map_batch`, which
evaluates the compiled ones column-wise and only the rest through one jq program.

Results are exactly those of `CompiledMapping.map_records` over `batch_records(batch)`: the same
entities, filtered-out count, and failure messages (jq errors included), in record order.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..evaluate import JqBatchEvaluator, RecordFailure, dumps
from ..port_jq import port_to_jq
from ..program import ERROR_KEY, build_program
from ..records import PROVENANCE, jq_inputs
from .builder import make_entity_builder
from .columns import NeedJq, value_rows
from .convert import to_python
from .evaluate import Evaluator
from .parse import Unsupported, parse



@dataclass
class Decision:
    where: str  # filter | entity.identifier | entity.properties.x ...
    expression: str
    engine: str  # compiled | jq
    why: str | None = None  # why not compiled


def batch_lines(batch: pa.RecordBatch) -> pa.Array:
    """Each row's source line, else its record number (what batch_records gives), as Arrow."""
    names = batch.schema.names
    line = batch.column(names.index("_s3_line")) if "_s3_line" in names else None
    row = batch.column(names.index("_s3_row")) if "_s3_row" in names else None
    if line is not None and row is not None:
        return pc.coalesce(line, row)
    if line is None and row is None:
        return pa.nulls(batch.num_rows, pa.int64())
    return line if line is not None else row


class VectorPlan:
    def __init__(self, mapping):
        self.m = mapping
        spec = mapping.spec
        self.exprs: list[str] = mapping.slot_exprs
        self.wheres = ["entity." + ".".join(str(p) for p in s.path) for s in mapping.slots]
        self.asts: list = []
        self.reasons: list[str | None] = []
        for e in self.exprs:
            ast, why = _try_parse(e)
            self.asts.append(ast)
            self.reasons.append(why)
        self.filter_ast, self.filter_reason = _try_parse(spec.filter) if spec.filter is not None else (None, None)
        self._schema_cache: dict = {}
        self._jq_cache: dict = {}
        self.runtime_fallbacks: dict[str, str] = {}  # where -> reason (last seen)
        self._builder = None

    # --- static decisions ----------------------------------------------------------------------------

    def _static(self, schema: pa.Schema):
        """(filter ast or None, [slot ast or None], reasons) for batches of this schema."""
        if schema.metadata:  # e.g. where a staged batch's texts are: not part of its shape
            schema = schema.remove_metadata()
        key = schema
        hit = self._schema_cache.get(key)
        if hit is not None:
            return hit
        empty = pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
        ev = Evaluator(empty, "", hidden=PROVENANCE)

        def check(ast, why):
            if ast is None:
                return None, why
            try:
                col = ev.run(ast)
                to_python(col, ERROR_KEY)
            except Unsupported as e:
                return None, str(e)
            except NeedJq:
                pass
            return ast, None

        f_ast, f_why = check(self.filter_ast, self.filter_reason)
        slots, whys = [], []
        for ast, why in zip(self.asts, self.reasons):
            a, w = check(ast, why)
            slots.append(a)
            whys.append(w)
        hit = (f_ast, f_why, slots, whys)
        if len(self._schema_cache) > 64:
            self._schema_cache.clear()
        self._schema_cache[key] = hit
        return hit

    def explain(self, schema: pa.Schema | None) -> list[Decision]:
        spec = self.m.spec
        out: list[Decision] = []
        if schema is None:  # no records seen: the parse decision only
            f = (self.filter_ast, self.filter_reason)
            slots = list(zip(self.asts, self.reasons))
        else:
            f_ast, f_why, s_asts, s_whys = self._static(schema)
            f = (f_ast, f_why)
            slots = list(zip(s_asts, s_whys))
        if spec.items is not None:
            why = "itemsToParse: the whole mapping runs in jq"
            f = (None, why)
            slots = [(None, why)] * len(slots)
        elif self.m.evaluator_uses_input:
            why = "the mapping reads `input`: the whole mapping runs in jq"
            f = (None, why)
            slots = [(None, why)] * len(slots)
        if spec.filter is not None:
            out.append(Decision("filter", spec.filter, "compiled" if f[0] is not None else "jq", f[1]))
        for where, expr, (ast, why) in zip(self.wheres, self.exprs, slots):
            out.append(Decision(where, expr, "compiled" if ast is not None else "jq", why))
        return out

    # --- evaluation ----------------------------------------------------------------------------------

    def _jq(self, slot_ids: tuple, with_filter: bool) -> JqBatchEvaluator:
        key = (slot_ids, with_filter)
        ev = self._jq_cache.get(key)
        if ev is None:
            text = build_program([self.exprs[i] for i in slot_ids], self.m.spec.filter if with_filter else None, None, "item")
            ev = self._jq_cache[key] = JqBatchEvaluator(text, batchable=True)
        return ev

    def _run_jq(self, batch: pa.RecordBatch, object_key: str, slot_ids: tuple, with_filter: bool) -> list:
        return self._jq(slot_ids, with_filter).run(jq_inputs(batch, object_key))

    def map_batch(self, batch: pa.RecordBatch, object_key: str, out, columnar: bool = False) -> None:
        m = self.m
        n = batch.num_rows
        if n == 0:
            return
        lines = batch_lines(batch)
        f_ast, _, s_asts, _ = self._static(batch.schema)
        nslots = len(self.exprs)
        jq_ids = [i for i in range(nslots) if s_asts[i] is None]
        filter_err: dict[int, str] = {}
        failures: dict[int, str] = {}  # a record the jq program could not run at all
        values: list[list | None] = [None] * nslots
        errs = [True] * nslots  # whether a slot's column may hold error markers
        arrays: list = [None] * nslots  # Arrow values of compiled slots without errors
        col_objs: list = [None] * nslots  # compiled slots' columns (to Python values only when needed)
        spec = m.spec

        passing: np.ndarray | None = None
        if spec.filter is not None and f_ast is not None:
            try:
                col = Evaluator(batch, object_key, hidden=PROVENANCE).run(f_ast)
                if col.kind == "boolean":
                    mask = pc.fill_null(col.arr, False)
                else:
                    mask = pa.repeat(False, n)
                ok = value_rows(col)
                if ok is not None:
                    mask = pc.and_(mask, ok)
                passing = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
                if col.err is not None and col.err.null_count < n:
                    for i, msg in enumerate(col.err.to_pylist()):
                        if msg is not None:
                            filter_err[i] = msg
            except NeedJq as e:
                self.runtime_fallbacks["filter"] = str(e)
                f_ast = None
        jq_done = False
        if spec.filter is not None and f_ast is None:
            outs = self._run_jq(batch, object_key, tuple(jq_ids), True)
            keep = []
            jq_vals: list[list] = [[] for _ in jq_ids]
            for i, o in enumerate(outs):
                if isinstance(o, RecordFailure):
                    failures[i] = o.message
                    continue
                flt = o[0]
                if _is_error(flt):
                    filter_err[i] = _text(flt[ERROR_KEY])
                elif flt is True:
                    keep.append(i)
                    for k, v in enumerate(o[1:]):
                        jq_vals[k].append(v)
            passing = np.array(keep, dtype=np.int64)
            for k, sid in enumerate(jq_ids):
                values[sid] = jq_vals[k]
            jq_done = True
        if passing is None:
            taken = None
            rows = range(n)
        else:
            rows = passing.tolist()
            taken = None if len(rows) == n else pa.array(passing, pa.int64())
        late: list[int] = []
        if len(rows):
            ev = Evaluator(batch, object_key, hidden=PROVENANCE, rows=taken)
            for sid in range(nslots):
                ast = s_asts[sid]
                if ast is None:
                    continue
                try:
                    col = ev.run(ast)
                    col_objs[sid] = col
                    arrays[sid] = col.arr if col.err is None and col.emp is None else None
                except NeedJq as e:
                    self.runtime_fallbacks[self.wheres[sid]] = str(e)
                    late.append(sid)
            todo = tuple(late) if jq_done else tuple(jq_ids + late)
            if todo:
                sub = batch if taken is None else batch.take(taken)
                outs = self._run_jq(sub, object_key, tuple(sorted(todo)), False)
                cols: list[list] = [[] for _ in todo]
                order = sorted(todo)
                for j, o in enumerate(outs):
                    if isinstance(o, RecordFailure):
                        failures[rows[j]] = o.message
                        o = [True] + [None] * len(order)
                    for k in range(len(order)):
                        cols[k].append(o[k + 1])
                for k, sid in enumerate(order):
                    values[sid] = cols[k]
        else:
            for sid in range(nslots):
                values[sid] = []
        if columnar and len(rows) and not filter_err and not failures and all(a is not None for a in arrays):
            kept = lines if taken is None else lines.take(taken)
            out.columns = EntityColumns(self, list(range(len(rows))), kept, arrays, col_objs)
        else:
            for sid, col in enumerate(col_objs):
                if col is not None:
                    values[sid], errs[sid] = to_python(col, ERROR_KEY)
            self._assemble(rows, values, errs, lines.to_pylist(), filter_err, failures, out)
        out.filtered_out += n - len(rows) - len(filter_err) - len([f for f in failures if f not in set(rows)])

    def _assemble(self, rows, values, errs, lines, filter_err, failures, out) -> None:
        m = self.m
        nslots = len(values)
        clean = not filter_err and not failures and not any(
            any(_is_error(v) for v in col) for col, e in zip(values, errs) if e)
        gc_was = gc.isenabled()
        gc.disable()
        try:
            if clean and m.spec.items is None:
                out.results.extend(self._fast(rows, values, lines))
                return
            extra = sorted(set(filter_err) | (set(failures) - set(rows)))
            pos = {r: j for j, r in enumerate(rows)}
            for r in sorted(set(rows) | set(extra)):
                line = lines[r]
                if r in failures:
                    out.results.append(m._fail(line, f"jq error: {failures[r]}"))
                    continue
                if r in filter_err:
                    out.results.append(m._fail(line, f"jq error in filter: {filter_err[r]}"))
                    continue
                j = pos[r]
                m._entity([True] + [values[s][j] for s in range(nslots)], line, out)
        finally:
            if gc_was:
                gc.enable()

    def _fast(self, rows, values, lines):
        """EntityResults of rows without errors, built by a function made for this mapping's
        shape (builder.py: this is most of the per-record cost)."""
        if self._builder is None:
            self._builder = make_entity_builder(self.m)
        return self._builder(rows, lines, values)


@dataclass
class EntityColumns:
    """A batch's entity results as columns: every expression compiled, no record failed. `arrays`
    (Arrow) and `values` (Python, as jq outputs them) per slot, over the rows that passed the
    filter; `results()` makes the EntityResults when a consumer wants them one by one."""

    plan: "VectorPlan"
    rows: list
    line_array: pa.Array  # each row's source line (the bulk path writes it as is)
    arrays: list
    cols: list  # the evaluated columns (vector.evaluate.Col), one per slot

    def __post_init__(self):
        self._values: dict[int, list] = {}
        self._lines: list | None = None

    @property
    def lines(self) -> list:
        if self._lines is None:
            self._lines = self.line_array.to_pylist()
        return self._lines

    def value(self, i: int) -> list:
        """Slot i's values as jq outputs them (Python), made on first use."""
        v = self._values.get(i)
        if v is None:
            v = self._values[i] = to_python(self.cols[i], ERROR_KEY)[0]
        return v

    @property
    def values(self) -> list:
        return [self.value(i) for i in range(len(self.cols))]

    def results(self) -> list:
        return self.plan._fast(self.rows, self.values, self.lines)

    def __len__(self) -> int:
        return len(self.rows)


def _is_error(v) -> bool:
    return type(v) is dict and len(v) == 1 and ERROR_KEY in v


def _text(msg) -> str:
    return msg if isinstance(msg, str) else dumps(msg).decode()


def _try_parse(expr: str | None):
    if expr is None:
        return None, None
    try:
        return parse(port_to_jq(expr)), None
    except Unsupported as e:
        return None, str(e)
    except RecursionError:
        return None, "expression nested too deeply"
