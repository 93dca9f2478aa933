"""`make_entity_builder(mapping)`: a function `build(rows, lines, values) -> [EntityResult]` for the
rows of a batch without errors, with the mapping's entity shape written out as literal dicts.

This is the one place that generates Python source: building the entities is most of the
per-record cost of the compiled path's row output, and literal dicts are about twice as fast as
any generic construction (`dict(zip(keys, row))`, column-wise `fill`), which measured 1.3-1.6x
slower on the `mapping` benchmark's row path. The source holds only `repr()`s of the mapping's
names and constants, indexes of its slots and three names bound in its own scope.
"""

from __future__ import annotations

from ..results import EntityResult, Leaf


def make_entity_builder(m):
    """`build(rows, lines, values) -> [EntityResult]`: for each `j, r in enumerate(rows)`, the
    entity of source line `lines[r]` from the slots' values `values[sid][j]` (as
    CompiledMapping._entity builds it)."""
    spec = m.spec
    leaf_of = {}
    for sid, slot in enumerate(m.slots):
        leaf_of[slot.path] = f"v{sid}[j]"

    def render(t):
        if isinstance(t, Leaf):
            return leaf_of[t.path]
        if isinstance(t, dict):
            return "{" + ", ".join(f"{k!r}: {render(v)}" for k, v in t.items()) + "}"
        if isinstance(t, list):
            return "[" + ", ".join(render(v) for v in t) + "]"
        return repr(t)

    parts = []
    if spec.operation == "create":
        for sid, slot in enumerate(m.slots):
            if slot.path[0] in ("title", "icon", "team"):
                parts.append(f"{slot.path[0]!r}: v{sid}[j]")
        props = [f"{slot.path[1]!r}: v{sid}[j]" for sid, slot in enumerate(m.slots) if slot.path[0] == "properties"]
        parts.append("'properties': {" + ", ".join(props) + "}")
        rels = [f"{name!r}: {render(t)}" for name, t in m.relation_templates.items()]
        parts.append("'relations': {" + ", ".join(rels) + "}")
    unpack = "".join(f"    v{sid} = values[{sid}]\n" for sid in range(len(m.slots)))
    code = (f"def build(rows, lines, values):\n{unpack}"
            f"    return [ER(lines[r], OP, BP, v0[j], {{{', '.join(parts)}}}) for j, r in enumerate(rows)]\n")
    scope = {"ER": EntityResult, "OP": spec.operation, "BP": spec.blueprint}
    exec(compile(code, f"<mapping {spec.name} builder>", "exec"), scope)  # noqa: S102 - names are repr()'d
    return scope["build"]
