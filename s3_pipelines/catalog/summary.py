"""What `run` and `demo` print after the stream table: entities per blueprint in each catalog,
and the latest audit failures (reported, never fatal)."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from ..targets import open_target
from .entities import entity_config
from .export import audit_rows, entity_counts


def entity_summary(cfg: PipelinesConfig, failures_shown: int = 10) -> list[str]:
    ec = entity_config(cfg)
    targets = sorted({m.target for m in ec.mappings})
    lines: list[str] = []
    for name in targets:
        target = open_target(cfg, name)
        counts = entity_counts(target)
        blueprints = sorted({m.blueprint for m in ec.mappings if m.target == name} | set(counts))
        lines.append(f"\ncatalog {name}: entities per blueprint")
        lines += [f"  {bp:<32} {counts.get(bp, 0):>8}" for bp in blueprints]
        failures = audit_rows(target, status="FAILURE")
        lines.append(f"catalog {name}: {len(failures)} audit failure(s)"
                     + (f", latest {failures_shown}:" if len(failures) > failures_shown else (":" if failures else "")))
        for r in failures[-failures_shown:]:
            ident = f" {r['identifier']!r}" if r["identifier"] is not None else ""
            lines.append(f"  {r['mapping']}: {r['object_key']} line {r['line']}: {r['blueprint']}{ident}: {r['message']}")
    return lines


def print_entity_summary(cfg: PipelinesConfig) -> None:
    if cfg.mappings:
        print("\n".join(entity_summary(cfg)))
