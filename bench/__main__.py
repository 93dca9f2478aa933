"""`python -m bench [sensor|memory ...] [--quick]` — runs the benchmarks and prints their tables."""

from __future__ import annotations

import argparse

from . import ingest_memory, sensor_tick


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("which", nargs="*", default=["sensor", "memory"], choices=["sensor", "memory"])
    p.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats (a smoke run)")
    args = p.parse_args()
    if "sensor" in args.which:
        sensor_tick.run(objects=10_000 if args.quick else 100_000, repeats=2 if args.quick else 5)
    if "memory" in args.which:
        ingest_memory.run(sizes_mb=(10, 100) if args.quick else (100, 1000), repeats=1 if args.quick else 3)


if __name__ == "__main__":
    main()
