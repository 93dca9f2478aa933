"""The `s3-pipelines` command. Every subcommand takes --config PATH (default $S3_PIPELINES_CONFIG,
then ./pipelines.yaml). Errors are one readable message and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys

from .config import ConfigError, json_schema, load_config


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help="pipelines file (default: $S3_PIPELINES_CONFIG, then ./pipelines.yaml)")


def cmd_validate(args) -> int:
    cfg = load_config(args.config)
    print(f"{cfg.source_path}: ok ({len(cfg.connections)} connection(s), {len(cfg.streams)} stream(s))")
    return 0


def cmd_schema(args) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_run(args) -> int:
    from .runner import print_summary, run_pending

    return 0 if print_summary(run_pending(load_config(args.config), args.select)) else 1


def cmd_partitions(args) -> int:
    from .ledger import Ledger

    cfg = load_config(args.config)
    ledger = Ledger(cfg.ledger_path())
    names = [args.stream] if args.stream else list(cfg.streams)
    for name in names:
        if name not in cfg.streams:
            raise ConfigError(cfg.source_path, [f"no stream named {name!r}"])
        rows = ledger.partitions(name)
        print(f"{name}: {len(rows)} partition(s) with objects")
        for r in rows:
            counts = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("partition", "rows"))
            print(f"  {r['partition']}  rows {r['rows']}  ({counts})")
    return 0


def cmd_demo(args) -> int:
    from .demo.run import run_demo

    return run_demo(workdir=args.workdir, dev=args.dev)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s3-pipelines", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check the pipelines file")
    _config_arg(p)
    p.set_defaults(fn=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the pipelines file")
    _config_arg(p)
    p.set_defaults(fn=cmd_schema)

    p = sub.add_parser("run", help="discover new objects now and load everything pending through Dagster")
    p.add_argument("--select", nargs="+", metavar="NAME", help="only these streams")
    _config_arg(p)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("partitions", help="partition keys with objects, per stream (what to pass to --partition)")
    p.add_argument("--stream", metavar="NAME")
    _config_arg(p)
    p.set_defaults(fn=cmd_partitions)

    p = sub.add_parser("demo", help="local S3 server + sample data, everything materialized")
    p.add_argument("--workdir", metavar="DIR", default=".s3_pipelines/demo",
                   help="where the demo writes its config and state (wiped first)")
    p.add_argument("--dev", action="store_true", help="then start `dagster dev` on the demo (Ctrl-C stops)")
    _config_arg(p)
    p.set_defaults(fn=cmd_demo)
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


if __name__ == "__main__":
    sys.exit(main())
