"""The catalog's `blueprints`, `blueprints_files` and `mappings` sections resolved: Port's files read,
mapping names and targets defaulted, cross-references and jq syntax checked (the checking pass of
`s3_pipelines.check` reports these problems). Every problem is one line starting with the YAML path it
is about (the loader turns that path into a line number).

Mapping names default to the blueprint (`<blueprint>_delete` for delete mappings), numbered
`_2`, `_3`, ... when taken; a `port_mappings_file` entry's `name` prefixes its mappings' names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config.models import PipelinesConfig
from ..config.port import BlueprintConfig, MappingConfig
from ..mapping.port_jq import JqSyntaxError, compile_jq
from ..mapping.spec import MappingSpec
from ..targets import TARGETS, sql_connections, target_types

# Port's own blueprints, relation targets in its published blueprints (e.g. slack_user.user -> _user)
BUILTIN_BLUEPRINTS = {
    "_user": BlueprintConfig(identifier="_user", title="User"),
    "_team": BlueprintConfig(identifier="_team", title="Team"),
}


@dataclass
class EntityConfig:
    blueprints: dict[str, BlueprintConfig] = field(default_factory=dict)  # the config's, without built-ins
    mappings: list[MappingSpec] = field(default_factory=list)

    def mapping(self, name: str) -> MappingSpec:
        for m in self.mappings:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.mappings) or "none"
        raise ValueError(f"no mapping named {name!r} (mappings: {known})")

    def blueprint(self, name: str) -> BlueprintConfig:
        bp = self.blueprints.get(name) or BUILTIN_BLUEPRINTS.get(name)
        if bp is None:
            raise ValueError(f"no blueprint named {name!r}")
        return bp


def entity_config(cfg: PipelinesConfig) -> EntityConfig:
    """The resolved sections of a validated config (files read relative to the config file)."""
    resolved, problems = resolve_entities(cfg, cfg.base_dir())
    if problems:
        raise ValueError("\n".join(problems))
    return resolved


def resolve_entities(cfg: PipelinesConfig, base_dir: Path) -> tuple[EntityConfig, list[str]]:
    problems: list[str] = []
    blueprints = _blueprints(cfg, base_dir, problems)
    specs = _mappings(cfg, base_dir, blueprints, problems)
    return EntityConfig(blueprints, specs), problems


# --- files -----------------------------------------------------------------------------------


def _read_json(path: str, base_dir: Path, where: str, problems: list[str]):
    p = Path(path).expanduser()
    p = p if p.is_absolute() else base_dir / p
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        problems.append(f"{where}: cannot read {path}: {e.strerror or e}")
    except ValueError as e:
        problems.append(f"{where}: {path} is not valid JSON: {e}")
    return None


def _pydantic_problems(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False):
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


# --- blueprints ------------------------------------------------------------------------------


def _blueprints(cfg, base_dir: Path, problems: list[str]) -> dict[str, BlueprintConfig]:
    found: dict[str, tuple[BlueprintConfig, str]] = {}
    for name, bp in cfg.blueprints.items():
        where = f"blueprints.{name}"
        if bp.identifier is not None and bp.identifier != name:
            problems.append(f"{where}.identifier: {bp.identifier!r} differs from the key {name!r}")
        found[name] = (bp, where)
    for i, path in enumerate(cfg.blueprints_files):
        where = f"blueprints_files.{i}"
        data = _read_json(path, base_dir, where, problems)
        if data is None:
            continue
        items = data if isinstance(data, list) else data.get("blueprints", [data]) if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(f"{where}: {path} holds neither a blueprint nor a list of blueprints")
            continue
        for j, item in enumerate(items):
            origin = f"{where}: {path}[{j}]"
            try:
                bp = BlueprintConfig.model_validate(item)
            except ValidationError as e:
                problems.append(f"{origin}: {_pydantic_problems(e)}")
                continue
            if not bp.identifier:
                problems.append(f"{origin}: a blueprint in a file needs its identifier")
                continue
            prev = found.get(bp.identifier)
            if prev is not None and prev[0].model_dump() != bp.model_dump():
                problems.append(f"{origin}: blueprint {bp.identifier!r} is already defined differently ({prev[1]})")
                continue
            found.setdefault(bp.identifier, (bp, origin))
    for name, (bp, where) in found.items():
        for rel_name, rel in bp.relations.items():
            if rel.target not in found and rel.target not in BUILTIN_BLUEPRINTS:
                problems.append(f"{where}: relation {rel_name}: no blueprint named {rel.target!r}")
    return {name: bp for name, (bp, _) in found.items()}


# --- mappings --------------------------------------------------------------------------------


def _default_target(cfg) -> str | None:
    catalogs = sql_connections(cfg.connections)
    return catalogs[0] if len(catalogs) == 1 else None


def _mappings(cfg, base_dir: Path, blueprints: dict[str, BlueprintConfig], problems: list[str]) -> list[MappingSpec]:
    entries: list[tuple[MappingConfig, str, str | None, str | None, str | None]] = []  # m, origin, stream, target, prefix
    for i, m in enumerate(cfg.mappings):
        where = f"mappings.{i}"
        if m.port_mappings_file is None:
            entries.append((m, where, m.stream, m.target, None))
            continue
        fwhere = f"{where}.port_mappings_file"
        data = _read_json(m.port_mappings_file, base_dir, fwhere, problems)
        if data is None:
            continue
        items = data.get("mappings") if isinstance(data, dict) else data
        if not isinstance(items, list):
            problems.append(f"{fwhere}: {m.port_mappings_file} holds no list of mappings (nor a webhook with `mappings`)")
            continue
        used_blueprints = set()
        for j, item in enumerate(items):
            origin = f"{fwhere}: {m.port_mappings_file}[{j}]"
            try:
                el = MappingConfig.model_validate(item)
            except ValidationError as e:
                problems.append(f"{origin}: {_pydantic_problems(e)}")
                continue
            used_blueprints.add(el.blueprint)
            stream = m.stream if m.streams is None else m.streams.get(el.blueprint)
            if stream is None:
                continue  # not bound to a stream: this file mapping is not used
            entries.append((el, origin, stream, m.target, m.name))
        for bp_name in sorted(set(m.streams or {}) - used_blueprints):
            problems.append(f"{where}.streams.{bp_name}: {m.port_mappings_file} has no mapping for blueprint {bp_name!r}")

    specs = []
    taken = {m.name for m, _, _, _, prefix in entries if m.name and prefix is None}
    for m, origin, stream, target, prefix in entries:
        spec = _spec(cfg, m, origin, stream, target or _default_target(cfg), prefix, taken, blueprints, problems)
        if spec is not None:
            specs.append(spec)
    seen: dict[str, str] = {}
    for s in specs:
        if s.name in seen:
            problems.append(f"{s.origin}: mapping name {s.name!r} is used twice (also {seen[s.name]})")
        seen.setdefault(s.name, s.origin)
    return specs


def _name(m: MappingConfig, prefix: str | None, taken: set[str]) -> str:
    if m.name and prefix is None:
        return m.name
    base = re.sub(r"\W", "_", m.blueprint or "mapping")
    if m.operation_type() == "delete":
        base += "_delete"
    if prefix:
        base = f"{prefix}_{base}"
    if base[0].isdigit():
        base = "_" + base
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _spec(cfg, m: MappingConfig, origin: str, stream, target, prefix, taken, blueprints, problems) -> MappingSpec | None:
    ok = True
    sub = f"{origin}." if origin.startswith("mappings.") and ": " not in origin else f"{origin}: "

    def problem(path: str, msg: str) -> None:
        nonlocal ok
        ok = False
        problems.append(f"{sub}{path}: {msg}" if path else f"{origin}: {msg}")

    if stream is None:
        problem("stream", "required: the stream whose records this mapping reads")
    elif stream not in cfg.streams:
        problem("stream", f"no stream named {stream!r}")
    if target is None:
        problem("target", f"required when there is not exactly one {target_types()} connection")
    else:
        conn = cfg.connections.get(target)
        if conn is None:
            problem("target", f"no connection named {target!r}")
        elif conn.type not in TARGETS:
            problem("target", f"{target!r} is a {conn.type} connection; a catalog needs {' or '.join(TARGETS)}")
    bp = blueprints.get(m.blueprint)
    if bp is None:
        builtin = " (Port's built-in blueprints are relation targets only)" if m.blueprint in BUILTIN_BLUEPRINTS else ""
        problem("blueprint", f"no blueprint named {m.blueprint!r}{builtin}")
    entity = m.entity
    is_create = m.operation_type() == "create"
    if bp is not None and is_create:
        for prop in entity.properties:
            if prop not in bp.property_specs():
                problem(f"entity.properties.{prop}", f"blueprint {m.blueprint} has no property {prop!r}")
        for rel in entity.relations:
            if rel not in bp.relations:
                problem(f"entity.relations.{rel}", f"blueprint {m.blueprint} has no relation {rel!r}")

    exprs: list[tuple[str, Any]] = [("filter", m.filter), ("itemsToParse", m.itemsToParse),
                                    ("entity.identifier", entity.identifier)]
    if is_create:
        exprs += [(f"entity.{k}", getattr(entity, k)) for k in ("title", "icon", "team")]
        exprs += [(f"entity.properties.{k}", v) for k, v in entity.properties.items()]
        for k, v in entity.relations.items():
            exprs += list(_leaves(f"entity.relations.{k}", v))
    for path, expr in exprs:
        if isinstance(expr, str):
            try:
                compile_jq(expr)
            except JqSyntaxError as e:
                problem(path, f"jq: {e}")
    if not ok:
        return None
    return MappingSpec(
        name=_name(m, prefix, taken), stream=stream, target=target, blueprint=m.blueprint,
        identifier=entity.identifier, operation=m.operation_type(), delete_dependents=m.delete_dependents(),
        filter=m.filter, items=m.itemsToParse, items_name=m.itemsToParseName,
        title=entity.title if is_create else None, icon=entity.icon if is_create else None,
        team=entity.team if is_create else None,
        properties=dict(entity.properties) if is_create else {},
        relations=dict(entity.relations) if is_create else {}, origin=origin,
    )


def _leaves(path: str, value):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(f"{path}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(f"{path}.{i}", v)
