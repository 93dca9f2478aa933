"""`python -m bench [sensor|memory|mapping|e2e|e2e-memory|tables|destinations|bulk_sync|events ...] [--quick]` — runs the benchmarks and
prints their tables."""

from __future__ import annotations

import argparse
import os

from . import ingest_memory, sensor_tick

ALL = ["sensor", "memory", "mapping", "test-mapping", "e2e", "e2e-memory", "tables", "destinations", "bulk_sync", "events",
       "state"]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench")
    # checked by hand: Python 3.11's argparse refuses an empty `nargs="*"` against `choices`
    p.add_argument("which", nargs="*", metavar="BENCHMARK", help=f"any of {', '.join(ALL)} (all when none is named)")
    p.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats (a smoke run)")
    args = p.parse_args()
    if unknown := [w for w in args.which if w not in ALL]:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    args.which = args.which or ALL
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # dlt (bench extra) makes no outbound calls
    if "sensor" in args.which:
        sensor_tick.run(objects=10_000 if args.quick else 100_000, repeats=2 if args.quick else 5)
    if "memory" in args.which:
        ingest_memory.run(sizes_mb=(10, 100) if args.quick else (100, 1000), repeats=1 if args.quick else 3)
    if "mapping" in args.which:
        from . import mapping

        if args.quick:
            mapping.run(records=100_000, jq_records=10_000, port_records=2_000, repeats=2)
        else:
            mapping.run()
    if "test-mapping" in args.which:
        from . import mapping_cli

        mapping_cli.run(records=100_000 if args.quick else 1_000_000, repeats=1 if args.quick else 3)
    if "e2e" in args.which:
        from . import end_to_end

        if args.quick:
            end_to_end.run(records=50_000, repeats=1, dlt_repeats=1)
        else:
            end_to_end.run()
    if "e2e-memory" in args.which:
        from . import end_to_end

        end_to_end.run_memory(sizes_mb=(10, 100) if args.quick else (100, 1000), repeats=1)
    if "tables" in args.which:
        from . import tables

        tables.run(records=50_000 if args.quick else 1_000_000, repeats=1 if args.quick else 3)
    if "destinations" in args.which:
        from . import destinations

        destinations.run(records=50_000 if args.quick else 1_000_000, repeats=1 if args.quick else 3)
    if "bulk_sync" in args.which:
        from . import bulk_sync

        bulk_sync.run(total_mb=50 if args.quick else None, objects=100 if args.quick else None, repeats=1 if args.quick else 3)
    if "events" in args.which:
        from . import events

        events.run(objects=100, existing=1_000 if args.quick else 10_000)

    if "state" in args.which:
        from . import state

        if args.quick:
            state.run(objects=20_000, register_n=10_000, partitions=40, per_partition=25, repeats=1)
        else:
            state.run()


if __name__ == "__main__":
    main()
