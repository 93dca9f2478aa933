"""Apply a mapping's entity results to the catalog inside one transaction, with an audit row for
each: `create` merges the given fields into the entity (a later record wins), `delete` removes it
and its dependents. Results are applied in record order; a run of creates is merged in memory and
written in bulk, a delete first writes what came before it.

Dependents (Port's semantics): entities with a *required* relation to the deleted entity, and
theirs in turn. With `deleteDependents` (the default) they are deleted too; with
`deleteDependents: false` a delete that has dependents fails, as in Port. Entities with a
non-required relation to it keep the identifier in that relation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from ..mapping import EntityResult, MappingSpec
from ..targets import Tx
from .entities import EntityConfig
from .schema import AUDIT, AUDIT_COLUMNS, ENTITIES, RELATIONS
from .store import EntityStore, Key
from .validate import identifier_problem, validate_entity


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0

    def add(self, other: "WriteCounts") -> None:
        for k in ("created", "updated", "deleted", "failed"):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class AuditContext:
    run_id: str | None
    stream: str
    partition: str | None
    object_key: str
    etag: str | None


@dataclass
class CatalogWriter:
    tx: Tx
    ec: EntityConfig
    spec: MappingSpec
    ctx: AuditContext
    counts: WriteCounts = field(default_factory=WriteCounts)
    # where the bulk path writes (entities, relation edges, audit): the catalog's tables, or a
    # staged load's scratch tables (catalog/staged.py)
    tables: tuple[str, str, str] = (ENTITIES, RELATIONS, AUDIT)

    def __post_init__(self):
        self.store = EntityStore(self.tx)
        self.audit: list[tuple] = []
        self.seq = 0
        self.now = dt.datetime.now(dt.timezone.utc)
        self.relation_targets = {(bp_name, rel): spec.target for bp_name, bp in self.ec.blueprints.items()
                                 for rel, spec in bp.relations.items()}

    def bind(self, tx: Tx, tables: tuple[str, str, str] = (ENTITIES, RELATIONS, AUDIT)) -> None:
        """Go on in another transaction (the next chunk of a staged load, or its publish)."""
        self.flush_audit()
        self.tx, self.tables, self.store = tx, tables, EntityStore(tx)

    # --- audit -------------------------------------------------------------------------------

    def _audit(self, line, blueprint, identifier, action: str, status: str, message: str | None) -> None:
        self.seq += 1
        c = self.ctx
        ident = identifier if isinstance(identifier, str) else None if identifier is None else str(identifier)
        self.audit.append((self.now, c.run_id, c.stream, c.partition, c.object_key, c.etag, line, self.seq,
                           self.spec.name, blueprint, ident, action, status, message))
        if status == "FAILURE":
            self.counts.failed += 1
        elif action == "CREATE":
            self.counts.created += 1
        elif action == "UPDATE":
            self.counts.updated += 1
        else:
            self.counts.deleted += 1

    def flush_audit(self) -> None:
        if not self.audit:
            return
        cols = list(zip(*self.audit))
        types = {"time": pa.timestamp("us", tz="UTC"), "line": pa.int64(), "seq": pa.int64()}
        table = pa.table({name: pa.array(list(col), types.get(name, pa.string()))
                          for name, col in zip(AUDIT_COLUMNS, cols)})
        self.tx.insert_arrow(AUDIT, table)
        self.audit = []

    # --- results -----------------------------------------------------------------------------

    def apply(self, results: list[EntityResult]) -> None:
        run: list[EntityResult] = []
        for r in results:
            if r.operation == "delete" and r.error is None:
                self._creates(run)
                run = []
                self._delete(r)
            else:
                run.append(r)
        self._creates(run)

    def _creates(self, results: list[EntityResult]) -> None:
        if not results:
            return
        bp_name = self.spec.blueprint
        bp = self.ec.blueprint(bp_name)
        keys = [(r.blueprint, r.identifier) for r in results if r.error is None and isinstance(r.identifier, str)]
        existing = self.store.existing(keys)
        state: dict[Key, dict] = dict(existing)
        changed: dict[Key, dict] = {}
        for r in results:
            key = (r.blueprint, r.identifier) if isinstance(r.identifier, str) else None
            action = "UPDATE" if key in state else "CREATE"
            if r.operation == "delete":  # a delete whose jq failed
                action = "DELETE"
            if r.error is not None:
                self._audit(r.line, r.blueprint, r.identifier, action, "FAILURE", r.error)
                continue
            why = identifier_problem(r.identifier)
            if why:
                self._audit(r.line, r.blueprint, r.identifier, action, "FAILURE", why)
                continue
            merged = _merge(state.get(key), r, bp, self.now, self.spec.name, self.ctx.object_key)
            problems = validate_entity(merged, bp, bp_name)
            if problems:
                self._audit(r.line, r.blueprint, r.identifier, action, "FAILURE", "; ".join(problems))
                continue
            state[key] = changed[key] = merged
            self._audit(r.line, r.blueprint, r.identifier, action, "SUCCESS", None)
        self.store.upsert(list(changed.values()), [k for k in changed if k in existing], self.relation_targets)

    def _delete(self, r: EntityResult) -> None:
        why = identifier_problem(r.identifier)
        if why:
            self._audit(r.line, r.blueprint, r.identifier, "DELETE", "FAILURE", why)
            return
        key = (r.blueprint, r.identifier)
        if not self.store.existing([key]):
            self._audit(r.line, r.blueprint, r.identifier, "DELETE", "SUCCESS", "no such entity: nothing to delete")
            return
        dependents = self._dependents(key)
        if dependents and not self.spec.delete_dependents:
            (bp, ident, rel, _), n = dependents[0], len(dependents)
            self._audit(r.line, r.blueprint, r.identifier, "DELETE", "FAILURE",
                        f"{n} entit{'y has' if n == 1 else 'ies have'} a required relation to it "
                        f"(e.g. {bp} {ident!r} through {rel}); deleteDependents is false")
            return
        self.store.delete([key] + [(bp, ident) for bp, ident, _, _ in dependents])
        self._audit(r.line, r.blueprint, r.identifier, "DELETE", "SUCCESS", None)
        for bp, ident, rel, (on_bp, on_ident) in dependents:
            self._audit(r.line, bp, ident, "DELETE", "SUCCESS",
                        f"dependent of {on_bp} {on_ident!r} (required relation {rel})")

    def _dependents(self, key: Key) -> list[tuple[str, str, str, Key]]:
        """Entities that must go with `key`: required relations to it, transitively; each with
        the relation and the entity it points at."""
        out, seen, todo = [], {key}, [key]
        while todo:
            on = todo.pop()
            for bp, ident, rel in self.store.referrers(on):
                spec = self.ec.blueprints.get(bp)
                if spec is None or rel not in spec.relations or not spec.relations[rel].required:
                    continue
                if (bp, ident) not in seen:
                    seen.add((bp, ident))
                    out.append((bp, ident, rel, on))
                    todo.append((bp, ident))
        return out


def _merge(current: dict | None, r: EntityResult, bp, now, mapping: str, object_key: str) -> dict:
    """The entity after merging a create's given fields into the current one (fields a blueprint
    no longer declares are dropped from the current one)."""
    specs, rels = bp.property_specs(), bp.relations
    if current is None:
        base = {"title": None, "icon": None, "team": None, "properties": {}, "relations": {}, "created_at": now}
    else:
        base = current
    f = r.fields
    return {
        "blueprint": r.blueprint, "identifier": r.identifier,
        "title": f["title"] if "title" in f else base["title"],
        "icon": f["icon"] if "icon" in f else base["icon"],
        "team": f["team"] if "team" in f else base["team"],
        "properties": {**{k: v for k, v in base["properties"].items() if k in specs}, **f.get("properties", {})},
        "relations": {**{k: v for k, v in base["relations"].items() if k in rels}, **f.get("relations", {})},
        "created_at": base["created_at"], "updated_at": now, "mapping": mapping, "object_key": object_key,
    }
