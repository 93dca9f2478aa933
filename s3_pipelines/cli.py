"""The `s3-pipelines` command. Every subcommand takes --config PATH (default $S3_PIPELINES_CONFIG,
then ./pipelines.yaml). Errors are one readable message and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .config import ConfigError, load_config


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help="pipelines file (default: $S3_PIPELINES_CONFIG, then ./pipelines.yaml)")


def cmd_validate(args) -> int:
    from .check import load_checked

    try:
        cfg = load_checked(args.config, check_env=not args.no_env)
    except ConfigError as e:
        if args.format != "json":
            raise
        print(json.dumps({"ok": False, "path": e.path, "problems": e.problems}, indent=2))
        return 2
    if args.format == "json":
        print(json.dumps({"ok": True, "path": str(cfg.source_path), "connections": list(cfg.connections),
                          "streams": list(cfg.streams)}, indent=2))
        return 0
    print(f"{cfg.source_path}: ok ({len(cfg.connections)} connection(s), {len(cfg.streams)} stream(s))")
    return 0


def cmd_schema(args) -> int:
    from .check import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_run(args) -> int:
    from dataclasses import asdict

    from .catalog.summary import print_entity_summary
    from .dagster_defs.run_report import RunReport
    from .dagster_defs.runner import print_summary, run_pending
    from .progress import Progress
    from .tables.summary import print_table_summary

    cfg = load_config(args.config)
    report = RunReport()
    as_json = args.format == "json"
    with Progress(enabled=not as_json) as progress:
        outcomes = run_pending(cfg, args.select, log=progress.log, report=report, progress=progress)
    touched = [o.stream for o in outcomes] if args.select else None  # --select: report only what it touched
    if as_json:
        print(json.dumps({"ok": all(o.ok and not o.asset_failures for o in outcomes),
                          "streams": [asdict(o) for o in outcomes], **report.as_json()}, indent=2, default=str))
        return 0 if all(o.ok and not o.asset_failures for o in outcomes) else 1
    ok = print_summary(outcomes, report=report)
    print_entity_summary(cfg, touched)  # entity counts and audit failures: reported, not fatal
    print_table_summary(cfg, touched)
    return 0 if ok else 1


def cmd_partitions(args) -> int:
    from .ledger import Ledger

    cfg = load_config(args.config)
    # a read-only command: a ledger that does not exist yet is empty, not created
    fresh = getattr(cfg.state, "database", None) is None and not cfg.ledger_path().exists()
    ledger = None if fresh else Ledger.from_config(cfg)
    names = [args.stream] if args.stream else list(cfg.streams)
    found = {}
    for name in names:
        if name not in cfg.streams:
            raise ConfigError(cfg.source_path, [f"no stream named {name!r}"])
        found[name] = ledger.partitions(name) if ledger else []
    if args.format == "json":
        print(json.dumps(found, indent=2, default=str))
        return 0
    for name, rows in found.items():
        print(f"{name}: {len(rows)} partition(s) with objects")
        for r in rows:
            counts = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("partition", "rows"))
            print(f"  {r['partition']}  rows {r['rows']}  ({counts})")
    return 0


def cmd_demo(args) -> int:
    from .demo.run import run_demo

    return run_demo(workdir=args.workdir, dev=args.dev, host=args.host, port=args.port)


QUIET_FOR = 5.0  # seconds: not on a terminal, work shorter than this prints no progress line at all


def _progress(enabled: bool = True):
    """The bar of a command whose stdout is data: on stderr, and only there when stderr is a terminal."""
    from .progress import Progress

    return Progress(enabled=enabled, out=sys.stderr, quiet_for=QUIET_FOR)


def cmd_test_mapping(args) -> int:
    from .mapping.try_mapping import render, test_mapping
    from .progress import is_tty

    from .cli_datasources import load_resolved  # a stream may select a registered data source

    cfg = load_resolved(args.config)
    opts = dict(file=args.file, latest=args.latest, object_key=args.object_key, explain=args.explain)
    # jsonl's errors and summary are data on stderr: progress there only for a person at a terminal
    with _progress(args.format != "jsonl" or is_tty(sys.stderr)) as progress:
        task = progress.task(f"{args.mapping}: records read", None)

        def on_batch(records: int, entities: int) -> None:
            task.update(records, note=f"{entities} entities")

        if args.format in ("json", "jsonl"):  # streamed: entities written as they are made
            from .mapping.try_mapping import write_test_mapping

            sys.stdout.flush()
            found = write_test_mapping(cfg, args.mapping, progress.output(sys.stdout.buffer), args.format,
                                       err=progress.output(sys.stderr.buffer), on_batch=on_batch, **opts)
            task.done()
        else:
            found = test_mapping(cfg, args.mapping, on_batch=on_batch, **opts)
            task.done()
    if args.format in ("json", "jsonl"):
        sys.stdout.buffer.flush()
    else:
        print(render(found, args.format))
    return 1 if found["errors"] else 0


def cmd_catalog_export(args) -> int:
    from .catalog.commands import export_pieces

    count, pieces = export_pieces(load_config(args.config), args.blueprint, args.target, args.format)
    with _progress() as progress:
        task = progress.task(f"{args.blueprint}: entities written", count)
        out = progress.output(sys.stdout)
        for text, n in pieces:
            out.write(text)
            task.advance(n)
        out.write("\n")
        task.done()
    sys.stdout.flush()
    return 0


def cmd_catalog_audit(args) -> int:
    from .catalog.commands import audit_command

    print(audit_command(load_config(args.config), status=args.status, mapping=args.mapping, stream=args.stream,
                        limit=args.limit, target=args.target, fmt=args.format))
    return 0


def cmd_infer(args) -> int:
    from .infer import infer_stream

    from .cli_datasources import load_resolved

    cfg = load_resolved(args.config)
    with _progress() as progress:
        task = progress.task(f"{args.stream}: records sampled", None)  # --records is a bound, not a total
        text = infer_stream(cfg, args.stream, args.records, args.objects, fmt=args.format,
                            on_batch=lambda records, objects: task.update(records, note=f"{objects} object(s)"))
        task.done()
    print(text, end="")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("s3_pipelines")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3-pipelines", description="Self-hosted S3 ingestion on Dagster, declared in one YAML file.",
        epilog="Every subcommand that reads the pipelines file takes --config PATH (default: "
               "$S3_PIPELINES_CONFIG, then ./pipelines.yaml). Errors are one readable message and a non-zero exit.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check the pipelines file")
    p.add_argument("--no-env", action="store_true",
                   help="do not check that the environment variables named by {env: NAME} are set")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: {ok, path, problems} (exit code 2 when not ok)")
    _config_arg(p)
    p.set_defaults(fn=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the pipelines file")
    p.set_defaults(fn=cmd_schema)

    p = sub.add_parser("run", help="discover new objects now and load everything pending through Dagster")
    p.add_argument("--select", nargs="+", metavar="NAME", help="only these streams, destinations (their stream) or syncs")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: one document (streams, assets, failures) for scripts; no progress output")
    _config_arg(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("partitions", help="partition keys with objects, per stream (what to pass to --partition)")
    p.add_argument("--stream", metavar="NAME", help="only this stream (default: every stream)")
    p.add_argument("--format", choices=["text", "json"], default="text", help="json: {stream: [partition, ...]}")
    _config_arg(p)
    p.set_defaults(fn=cmd_partitions)

    p = sub.add_parser("demo", help="local S3 server + sample data, everything materialized")
    p.add_argument("--workdir", metavar="DIR", default=".s3_pipelines/demo",
                   help="where the demo writes its config and state: a new or empty folder, or one an "
                        "earlier demo made (only then is it cleared)")
    p.add_argument("--dev", action="store_true", help="then start `dagster dev` on the demo (Ctrl-C stops)")
    p.add_argument("--host", default="127.0.0.1", help="with --dev: the UI's host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="with --dev: the UI's port (default 3000)")
    p.set_defaults(fn=cmd_demo)

    p = sub.add_parser("test-mapping", help="apply a mapping to one object's records and print the entities (writes nothing)")
    p.add_argument("--mapping", required=True, metavar="NAME", help="a mapping of the pipelines file (its `name`)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="PATH", help="a local file, read as the mapping's stream reads objects")
    src.add_argument("--latest", action="store_true", help="the newest object of the mapping's stream in S3")
    p.add_argument("--object-key", metavar="KEY", help="the key the records come from (_PORT_SOURCE_OBJECT_KEY)")
    p.add_argument("--explain", action="store_true",
                   help="also say, per jq expression, whether it runs compiled (vectorized over Arrow) or in jq, and why")
    p.add_argument("--format", choices=["json", "jsonl", "text"], default="text",
                   help="json: one object {mapping, object, entities: [{blueprint, identifier, title, properties,"
                        " relations, icon?, team?}], records, filtered_out, errors: [{object_key, line, identifier,"
                        " message}], explain?}, its entities array streamed; jsonl: one entity per line on stdout,"
                        " then on stderr one {\"error\": ...} line per error and a {\"summary\": {mapping, object,"
                        " records, entities, filtered_out, errors}} line. Exit code 1 when there are errors. On a"
                        " terminal a progress bar (records read, entities) goes to stderr")
    _config_arg(p)
    p.set_defaults(fn=cmd_test_mapping)

    p = sub.add_parser("catalog", help="entities and audit log of a catalog")
    csub = p.add_subparsers(dest="catalog_command", required=True)
    c = csub.add_parser("export", help="entities of a blueprint, ordered by identifier")
    c.add_argument("--blueprint", required=True, metavar="NAME", help="the blueprint whose entities to print")
    c.add_argument("--target", metavar="NAME", help="the catalog connection (when there are several)")
    c.add_argument("--format", choices=["json", "text"], default="text",
                   help="json: [{blueprint, identifier, title, properties, relations, icon?, team?}] (icon and team"
                        " only when set). On a terminal a progress bar (entities written) goes to stderr")
    _config_arg(c)
    c.set_defaults(fn=cmd_catalog_export)
    c = csub.add_parser("audit", help="audit rows of entity writes, oldest first")
    c.add_argument("--status", choices=["failure", "success"], type=str.lower)
    c.add_argument("--mapping", metavar="NAME", help="only the rows of this mapping")
    c.add_argument("--stream", metavar="NAME", help="only the rows of this stream's objects")
    c.add_argument("--limit", type=int, metavar="N", help="only the newest N rows")
    c.add_argument("--target", metavar="NAME", help="the catalog connection (when there are several)")
    c.add_argument("--format", choices=["json", "text"], default="text",
                   help="json: [{time (ISO), run_id, stream, partition_key, object_key, etag, line, seq, mapping,"
                        " blueprint, identifier, action, status, message}], oldest first")
    _config_arg(c)
    c.set_defaults(fn=cmd_catalog_audit)

    p = sub.add_parser("infer", help="sample a stream; print its schema and a starter blueprint and mapping (YAML)")
    p.add_argument("--stream", required=True, metavar="NAME", help="the stream to sample (a name under `streams:`)")
    p.add_argument("--records", type=int, default=1000, metavar="N", help="records to sample (default 1000)")
    p.add_argument("--objects", type=int, default=5, metavar="N", help="objects to read at most (default 5)")
    p.add_argument("--format", choices=["yaml", "json"], default="yaml",
                   help="json: {stream, records, objects, bad_records: [{object_key, line, reason}], streams,"
                        " blueprints, mappings} (the last three as in the YAML). On a terminal a progress bar"
                        " (records sampled, objects) goes to stderr")
    _config_arg(p)
    p.set_defaults(fn=cmd_infer)

    from .cli_datasources import add_commands

    add_commands(sub, _config_arg)  # datasources create|list|get|delete|audit, policy
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush does not fail again
        return 141


if __name__ == "__main__":
    sys.exit(main())
