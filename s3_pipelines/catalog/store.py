"""Entity reads and writes inside one target transaction: bulk lookups of existing entities,
merge upserts (Arrow in, `INSERT ... ON CONFLICT DO UPDATE`), deletes, relation edges and
dependents. The same SQL runs on DuckDB and PostgreSQL."""

from __future__ import annotations

import pyarrow as pa

from ..targets import Tx
from .codec import entity_row, entity_table
from .schema import ENTITIES, ENTITY_COLUMNS, RELATIONS, TMP_DDL, TMP_ENTITIES, TMP_KEYS
from .validate import is_search

Key = tuple[str, str]  # (blueprint, identifier)

_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in ENTITY_COLUMNS if c not in ("blueprint", "identifier", "created_at"))


class EntityStore:
    def __init__(self, tx: Tx):
        self.tx = tx
        self._tmp = False
        self._populated: dict[str, bool] = {}

    def _temp_tables(self) -> None:
        if not self._tmp:
            for ddl in TMP_DDL:
                self.tx.execute(ddl)
            self._tmp = True

    def has_any(self, blueprint: str) -> bool:
        """Whether the blueprint has entities at all (skips lookups on a first load); stays true
        once this transaction writes one."""
        if blueprint not in self._populated:
            self._populated[blueprint] = bool(
                self.tx.execute(f"SELECT 1 FROM {ENTITIES} WHERE blueprint = ? LIMIT 1", (blueprint,)))
        return self._populated[blueprint]

    def existing(self, keys: list[Key]) -> dict[Key, dict]:
        keys = [k for k in dict.fromkeys(keys) if self.has_any(k[0])]
        if not keys:
            return {}
        if len(keys) <= 20:
            found = []
            for bp, ident in keys:
                found += self._select("WHERE blueprint = ? AND identifier = ?", (bp, ident))
        else:
            self._temp_tables()
            self.tx.execute(f"DELETE FROM {TMP_KEYS}")
            self.tx.insert_arrow(TMP_KEYS, pa.table({"blueprint": [k[0] for k in keys],
                                                     "identifier": [k[1] for k in keys]}))
            found = self._select(f"JOIN {TMP_KEYS} k USING (blueprint, identifier)", ())
        return {(r["blueprint"], r["identifier"]): r for r in found}

    def _select(self, where: str, params) -> list[dict]:
        cols = ", ".join(f"e.{c}" for c in ENTITY_COLUMNS)
        table = self.tx.query_arrow(f"SELECT {cols} FROM {ENTITIES} e {where}", params)
        return [entity_row(r) for r in table.to_pylist()]

    def upsert(self, rows: list[dict], replaced: list[Key], relation_targets: dict[tuple[str, str], str]) -> None:
        """Write whole entity rows (merged already). `replaced`: keys that existed before (their
        relation edges are rewritten); `relation_targets`: (blueprint, relation) -> target blueprint."""
        if not rows:
            return
        self._temp_tables()
        self.tx.execute(f"DELETE FROM {TMP_ENTITIES}")
        self.tx.insert_arrow(TMP_ENTITIES, entity_table(rows))
        names = ", ".join(ENTITY_COLUMNS)
        self.tx.execute(f"INSERT INTO {ENTITIES} ({names}) SELECT {names} FROM {TMP_ENTITIES}"
                        f" ON CONFLICT (blueprint, identifier) DO UPDATE SET {_UPDATE}")
        if replaced:
            self.tx.execute(f"DELETE FROM {RELATIONS} WHERE EXISTS (SELECT 1 FROM {TMP_ENTITIES} t"
                            f" WHERE t.blueprint = {RELATIONS}.blueprint AND t.identifier = {RELATIONS}.identifier)")
        edges = [e for r in rows for e in relation_edges(r, relation_targets)]
        if edges:
            self.tx.insert_arrow(RELATIONS, pa.table({
                "blueprint": [e[0] for e in edges], "identifier": [e[1] for e in edges],
                "relation": [e[2] for e in edges], "target_blueprint": [e[3] for e in edges],
                "target_identifier": [e[4] for e in edges]}))
        for r in rows:
            self._populated[r["blueprint"]] = True

    def delete(self, keys: list[Key]) -> None:
        for bp, ident in keys:
            self.tx.execute(f"DELETE FROM {ENTITIES} WHERE blueprint = ? AND identifier = ?", (bp, ident))
            self.tx.execute(f"DELETE FROM {RELATIONS} WHERE blueprint = ? AND identifier = ?", (bp, ident))

    def referrers(self, key: Key) -> list[tuple[str, str, str]]:
        """(blueprint, identifier, relation) of entities whose identifier relation points at `key`."""
        return [tuple(r) for r in self.tx.execute(
            f"SELECT blueprint, identifier, relation FROM {RELATIONS} WHERE target_blueprint = ?"
            " AND target_identifier = ? ORDER BY blueprint, identifier, relation", key)]


def relation_edges(row: dict, relation_targets: dict[tuple[str, str], str]):
    """Identifier-valued relations of an entity row as edges (search relations have none)."""
    bp, ident = row["blueprint"], row["identifier"]
    for name, value in (row.get("relations") or {}).items():
        target = relation_targets.get((bp, name))
        if target is None or value is None or is_search(value):
            continue
        for t in value if isinstance(value, list) else [value]:
            if isinstance(t, str):
                yield (bp, ident, name, target, t)
