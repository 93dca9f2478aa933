"""The state database at scale (issue 15): the load ledger in PostgreSQL vs SQLite, in one run.

1. register: 100,000 new object versions in one call (a sensor catching up on a large prefix);
2. claims/s: 4 worker processes claiming 400 partitions of 25 objects each, concurrently (every
   claim a transaction that locks the rows it takes), checked for overlap;
3. a sensor tick over a 1,000,000-object prefix with time-ordered keys (Airbyte's layout, listing
   mode start_after), objects laid down as files under `rclone serve s3` (1,000,000 PUTs through
   an S3 API would take about 40 minutes here): list requests and seconds of a tick that finds
   100 new objects, and of one catching up on 1,500, including their registration in the ledger.

PostgreSQL: $S3_PIPELINES_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test), a
schema of its own, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from pathlib import Path

from s3_pipelines.ledger import Ledger
from s3_pipelines.objects import S3Object

from .common import RcloneServer, median, print_table

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def _pg_url() -> str:
    return os.environ.get("S3_PIPELINES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Backends:
    """A fresh ledger per use: SQLite files in a temp folder, PostgreSQL schemas dropped at exit."""

    def __init__(self, work: Path):
        self.work, self.schemas = work, []

    def ledger(self, backend: str) -> tuple[Ledger, tuple[str, str | None]]:
        name = f"s3p_bench_{uuid.uuid4().hex[:10]}"
        target = (str(self.work / f"{name}.sqlite"), None) if backend == "sqlite" else (_pg_url(), name)
        if backend == "postgres":
            self.schemas.append(name)
        return Ledger(target[0], schema=target[1]), target

    def close(self):
        import psycopg

        with psycopg.connect(_pg_url(), autocommit=True) as con:
            for s in self.schemas:
                con.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')


def _objects(n: int, start: int = 0) -> list[S3Object]:
    return [S3Object("bench", f"data/obj-{i:08d}.jsonl.gz", f"etag{i}", 1000 + i,
                     T0 + dt.timedelta(seconds=i)) for i in range(start, start + n)]


def _day(o: S3Object) -> str:
    return o.last_modified.strftime("%Y-%m-%d")


# --- 1. registering ------------------------------------------------------------------------------


def bench_register(backends: Backends, n: int, repeats: int) -> list[list]:
    objs = _objects(n)
    out = {}
    for backend in ("sqlite", "postgres"):
        times = []
        for _ in range(repeats):
            led, _ = backends.ledger(backend)
            t = time.perf_counter()
            new = led.register("s", objs, _day)
            times.append(time.perf_counter() - t)
            assert len(new) == n
            t = time.perf_counter()
            assert led.register("s", objs, _day) == []  # the same listing again: nothing new
            times_again = time.perf_counter() - t
        out[backend] = (median(times), times_again)
    base = out["sqlite"][0]
    return [[b, f"{n:,}", f"{t:.2f}", f"{n / t:,.0f}", f"{again:.2f}", f"{t / base:.2f}"]
            for b, (t, again) in out.items()]


# --- 2. claims -----------------------------------------------------------------------------------


def _claimer(target, schema, worker: int, partitions: list[str], start, q) -> None:
    led = Ledger(target, schema=schema)
    start.wait()
    got, calls, t = [], 0, time.perf_counter()
    for p in partitions[worker::4] + partitions:  # its share first, then everyone's (contention)
        got += [o.key for o in led.claim("s", p, f"run-{worker}")]
        calls += 1
    q.put((got, calls, time.perf_counter() - t))


def bench_claims(backends: Backends, partitions: int, per_partition: int) -> list[list]:
    rows = []
    for backend in ("sqlite", "postgres"):
        led, (target, schema) = backends.ledger(backend)
        objs = _objects(partitions * per_partition)
        names = [f"p{i:04d}" for i in range(partitions)]
        led.register("s", objs, lambda o: names[int(o.key[9:17]) % partitions])
        ctx = mp.get_context("spawn")
        q, start = ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_claimer, args=(target, schema, w, names, start, q)) for w in range(4)]
        for p in procs:
            p.start()
        time.sleep(3)  # every process imported and connected
        t = time.perf_counter()
        start.set()
        results = [q.get(timeout=600) for _ in procs]
        wall = time.perf_counter() - t
        for p in procs:
            p.join(60)
        keys = [k for r in results for k in r[0]]
        assert len(keys) == len(objs) == len(set(keys)), "two workers claimed the same object"
        calls = sum(r[1] for r in results)
        rows.append([backend, 4, calls, f"{wall:.2f}", f"{calls / wall:,.0f}", f"{len(keys) / wall:,.0f}", "none"])
    return rows


# --- 3. a sensor tick over 1,000,000 objects ----------------------------------------------------

PREFIX = "data/wSLvwtI1LFwQzXXX/users/"


def _key(i: int) -> str:
    """Airbyte's layout, a sync every 10 minutes: year=/month=/DD_<epoch ms>_0.jsonl.gz."""
    t = T0 + dt.timedelta(minutes=10 * i)
    return f"{PREFIX}year={t:%Y}/month={t:%m}/{t:%d}_{int(t.timestamp() * 1000)}_0.jsonl.gz"


def bench_tick(backends: Backends, objects: int, repeats: int) -> list[list]:
    from s3_pipelines import ingest
    from s3_pipelines.config.models import S3ConnectionConfig, StreamConfig
    from s3_pipelines.connections.s3 import S3Client

    rows = []
    with tempfile.TemporaryDirectory(dir=backends.work) as tmp, RcloneServer(Path(tmp)) as server:
        bucket = Path(tmp) / "bench-bucket"
        t = time.perf_counter()
        made = set()
        for i in range(objects):
            path = bucket / _key(i)
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(b"{}\n")
        print(f"laid down {objects:,} objects in {time.perf_counter() - t:.0f}s (rclone serve s3 at {server.endpoint_url})")
        os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = server.KEY, server.SECRET
        client = S3Client.from_config(S3ConnectionConfig.model_validate({
            "type": "s3", "bucket": "bench-bucket", "endpoint_url": server.endpoint_url,
            "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "BENCH_KEY"},
                     "aws_secret_access_key": {"env": "BENCH_SECRET"}}}))
        stream = StreamConfig.model_validate({"connection": "lake", "select": {"prefixes": [PREFIX]},
                                              "format": "jsonl", "listing": {"mode": "start_after"}})
        for backend in ("sqlite", "postgres"):
            for new in (100, 1500):
                # the cursor as it stands after the sensor has seen all but the last `new` keys
                cursor = '{"v":1,"mode":"start_after","after":{"%s":"%s"},"next_root":0}' % (
                    PREFIX, _key(objects - new - 1)[len(PREFIX):])
                times, requests = [], []
                for _ in range(repeats):
                    led, _ = backends.ledger(backend)
                    t = time.perf_counter()
                    found = ingest.discover(client, "users", stream, led, cursor)
                    times.append(time.perf_counter() - t)
                    requests.append(found.list_requests)
                    assert len(found.new) == new, (len(found.new), new)
                rows.append([backend, f"{objects:,}", new, requests[0], f"{median(times):.2f}"])
    return rows


def run(objects: int = 1_000_000, register_n: int = 100_000, partitions: int = 400, per_partition: int = 25,
        repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory(prefix="s3p-bench-state-") as tmp:
        backends = Backends(Path(tmp))
        try:
            print_table(f"Registering {register_n:,} new object versions in one call (median of {repeats})",
                        ["ledger", "objects", "seconds", "objects/s", "same listing again, s", "time vs SQLite"],
                        bench_register(backends, register_n, repeats))
            print_table(f"Claims by 4 concurrent worker processes: {partitions} partitions x {per_partition} objects, "
                        "each worker claims its quarter then every partition",
                        ["ledger", "workers", "claim calls", "seconds", "claims/s", "objects claimed/s", "overlap"],
                        bench_claims(backends, partitions, per_partition))
            print_table(f"A sensor tick over {objects:,} objects with time-ordered keys (listing start_after, "
                        f"rclone serve s3; median of {repeats}), registration in the ledger included",
                        ["ledger", "objects under the prefix", "new objects", "list requests", "tick seconds"],
                        bench_tick(backends, objects, repeats))
        finally:
            backends.close()


if __name__ == "__main__":
    run()
