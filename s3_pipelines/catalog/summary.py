"""What `run` and `demo` print after the stream table: entities per blueprint in each catalog,
and the latest audit failures (reported, never fatal)."""

from __future__ import annotations

from ..config.models import PipelinesConfig
from ..targets import open_target
from .entities import entity_config
from .export import audit_rows, entity_counts


def entity_summary(cfg: PipelinesConfig, failures_shown: int = 10, streams: list[str] | None = None) -> list[str]:
    """`streams`: only the catalogs, blueprints and audit rows of these streams' mappings."""
    ec = entity_config(cfg)
    mappings = [m for m in ec.mappings if streams is None or m.stream in streams]
    targets = sorted({m.target for m in mappings})
    lines: list[str] = []
    for name in targets:
        target = open_target(cfg, name)
        counts = entity_counts(target)
        blueprints = sorted({m.blueprint for m in mappings if m.target == name}
                            | (set(counts) if streams is None else set()))
        lines.append(f"\nentities in `{name}`, per blueprint:")
        lines += [f"  {bp:<32} {counts.get(bp, 0):>8}" for bp in blueprints]
        failures = [r for r in audit_rows(target, status="FAILURE")
                    if streams is None or r.get("stream") in streams]
        lines.append(f"{len(failures)} audit failure(s) in `{name}`"
                     + (f", latest {failures_shown}:" if len(failures) > failures_shown else (":" if failures else "")))
        for r in failures[-failures_shown:]:
            ident = f" {r['identifier']!r}" if r["identifier"] is not None else ""
            lines.append(f"  {r['mapping']}: {r['object_key']} line {r['line']}: {r['blueprint']}{ident}: {r['message']}")
    return lines


def print_entity_summary(cfg: PipelinesConfig, streams: list[str] | None = None) -> None:
    lines = entity_summary(cfg, streams=streams) if cfg.mappings else []
    if lines:
        print("\n".join(lines))
