"""`s3-pipelines datasources create|list|get|delete|audit` and `s3-pipelines policy`."""

from __future__ import annotations

import argparse
import json
import sys

from .config import load_config


def load_resolved(path):
    """The file, with streams selecting a data source of the registry given its prefix (commands
    that read S3 without building the Dagster definitions, which check and resolve)."""
    from .datasources import resolve_streams

    cfg = load_config(path)
    resolve_streams(cfg)  # a stream naming a missing data source fails when it is used, saying so
    return cfg


def _print(value, fmt: str, text: str) -> None:
    print(json.dumps(value, indent=2) if fmt == "json" else text)


def _line(d: dict) -> str:
    state = "disabled" if d["disabled"] else "active"
    objects = "?" if d["objectCount"] is None else f"{d['objectCount']} objects, {d['bytes']} bytes"
    return f"{d['dataSourceId']:>4}  {d['dataSourceName']:<24} {state:<8} {d.get('uri') or d['prefix']}  ({objects})"


def _details(d: dict) -> str:
    return "\n".join(f"{k}: {'' if v is None else v}" for k, v in d.items())


def _registry(cfg):
    from .datasources import Registry, sync_config

    registry = Registry.open(cfg)
    for problem in sync_config(cfg, registry):
        print(f"warning: {problem}", file=sys.stderr)  # stdout is the data (`--format json`)
    return registry


def cmd_create(args) -> int:
    from .datasources import create

    cfg = load_config(args.config)
    ds = create(cfg, args.name, args.connection, args.prefix, registry=_registry(cfg), description=args.description)
    d = ds.to_json(cfg)
    _print(d, args.format, f"created data source {ds.name} (id {ds.id}): {d['uri']}, {ds.object_count} objects, "
                           f"{ds.bytes} bytes, newest {ds.newest_object_at or '-'}")
    return 0


def cmd_list(args) -> int:
    cfg = load_config(args.config)
    found = [d.to_json(cfg) for d in _registry(cfg).search(args.search, args.include_disabled)]
    _print(found, args.format, "\n".join(_line(d) for d in found) or "no data sources")
    return 0


def cmd_get(args) -> int:
    cfg = load_config(args.config)
    ds = _registry(cfg).get(args.name)
    if ds is None:
        raise ValueError(f"no data source named {args.name!r}")
    _print(ds.to_json(cfg), args.format, _details(ds.to_json(cfg)))
    return 0


def cmd_delete(args) -> int:
    from .datasources import delete, streams_naming

    cfg = load_config(args.config)
    action, ds = delete(cfg, args.name, registry=_registry(cfg))
    streams = streams_naming(cfg, ds.name)
    # Immuta's answer to DELETE /dataSource/{id}, plus what was done
    out = {"success": True, "id": ds.id, "name": ds.name, "disabled": True, "deleted": action == "deleted",
           "handlerDeleteErrorMessage": None, "streams": streams}
    if action == "disabled":
        text = f"disabled data source {ds.name} (id {ds.id}); the sensors of its streams skip; delete again to remove it"
    else:
        text = f"deleted data source {ds.name} (id {ds.id})"
        if streams:
            text += f"; streams still selecting it (validate reports them): {', '.join(streams)}"
    _print(out, args.format, text)
    return 0


def cmd_audit(args) -> int:
    cfg = load_config(args.config)
    rows = _registry(cfg).audit(args.name)
    _print(rows, args.format, "\n".join(
        f"{r['at']}  {r['user']:<12} {r['action']:<8} {r['dataSourceName']} (id {r['dataSourceId']})"
        + (f"  {json.dumps(r['details'], sort_keys=True)}" if r["details"] else "") for r in rows) or "no changes")
    return 0


def cmd_policy(args) -> int:
    from .policy import policies, render

    from .datasources import resolve_streams

    cfg = load_config(args.config)
    problems = resolve_streams(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    print(render(policies(cfg, args.connection), args.format))
    return 0


def add_commands(sub, config_arg) -> None:
    """The `datasources` group and `policy`, added to the main parser's subcommands."""
    p = sub.add_parser("datasources", help="named S3 prefixes (Immuta-style data sources): create, list, get, delete")
    dsub = p.add_subparsers(dest="datasources_command", required=True)

    def fmt(c: argparse.ArgumentParser, shape: str) -> None:
        c.add_argument("--format", choices=["json", "text"], default="text", help=f"json: {shape}")
        config_arg(c)

    c = dsub.add_parser("create", help="register a prefix (checks it is reachable and overlaps no active data source)")
    c.add_argument("--name", required=True)
    c.add_argument("--connection", required=True, metavar="NAME", help="an s3 connection of the file")
    c.add_argument("--prefix", required=True, help="relative to the connection's prefix")
    c.add_argument("--description")
    fmt(c, "the data source, {dataSourceId, dataSourceName, prefix, disabled, connection, uri, origin, description, createdAt, ...}")
    c.set_defaults(fn=cmd_create)
    c = dsub.add_parser("list", help="active data sources, by name or prefix")
    c.add_argument("--search", metavar="TEXT", help="a part of the name or the prefix (any case)")
    c.add_argument("--include-disabled", action="store_true")
    fmt(c, "[data source, ...], each as `create` prints it")
    c.set_defaults(fn=cmd_list)
    c = dsub.add_parser("get", help="one data source with its object count, bytes and newest object time")
    c.add_argument("name")
    fmt(c, "the data source, as `create` prints it")
    c.set_defaults(fn=cmd_get)
    c = dsub.add_parser("delete", help="the first delete disables, the second removes")
    c.add_argument("name")
    fmt(c, "{success, id, name, disabled, deleted, handlerDeleteErrorMessage, streams}")
    c.set_defaults(fn=cmd_delete)
    c = dsub.add_parser("audit", help="every change: when, who (the OS user), what")
    c.add_argument("--name")
    fmt(c, "[{at, user, action, dataSourceId, dataSourceName, details}], oldest first")
    c.set_defaults(fn=cmd_audit)

    p = sub.add_parser("policy", help="the least-privilege IAM policy (and trust policy) each connection needs")
    p.add_argument("--connection", metavar="NAME", help="only this s3 connection")
    p.add_argument("--format", choices=["json", "terraform"], default="json",
                   help="json (default): {connection: {connection, bucket, policy, trustPolicy?, callerPolicy?, uses}}")
    config_arg(p)
    p.set_defaults(fn=cmd_policy)
