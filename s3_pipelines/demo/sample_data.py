"""Sample objects shaped like the real thing: Airbyte's S3 destination output for a Slack source
(JSON Lines, gzip, root-level flattening, `_airbyte_*` columns), a CSV export and a Parquet table.
Deterministic for a given seed, so tests can compute what should land."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import random
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

WEBHOOK_KEY = "wSLvwtI1LFwQzXXX"  # Port's webhook key: Airbyte writes under data/<key>/<stream>/
TEAM_ID = "T0DEMO001"


def airbyte_key(stream: str, when: dt.datetime, part: int = 0) -> str:
    return (f"data/{WEBHOOK_KEY}/{stream}/year={when:%Y}/month={when:%m}/"
            f"{when:%d}_{int(when.timestamp() * 1000)}_{part}.jsonl.gz")


def _airbyte(record: dict, when: dt.datetime, rng: random.Random) -> dict:
    return {
        "_airbyte_raw_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "_airbyte_extracted_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "_airbyte_generation_id": 0,
        "_airbyte_meta": {"changes": [], "sync_id": 1},
        **record,
    }


def slack_users(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        name = f"user{i:04d}"
        out.append({
            "id": f"U{i:07d}", "name": name, "real_name": f"User {i}", "team_id": TEAM_ID,
            "tz": rng.choice(["Europe/Berlin", "America/New_York", "Asia/Tokyo"]),
            "is_admin": i % 10 == 0, "is_bot": i % 17 == 0, "deleted": i % 23 == 0,
            "is_restricted": False, "is_primary_owner": i == 0, "is_app_user": False,
            # one malformed email: the catalog refuses that entity and audits why
            "profile": {"email": f"{name} at example.com" if i == 42 else f"{name}@example.com",
                        "title": rng.choice(["eng", "sales", "ops"])},
            "updated": 1_700_000_000 + i,
        })
    return out


def slack_channels(n: int, users: list[dict], rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        out.append({
            "id": f"C{i:07d}", "name": f"channel-{i}", "name_normalized": f"channel-{i}",
            "is_private": i % 4 == 0, "is_archived": i % 9 == 0, "is_shared": False,
            "is_ext_shared": False, "is_org_shared": False, "is_group": False,
            "num_members": rng.randint(1, len(users)), "created": 1_600_000_000 + 86_400 * i,
            "creator": rng.choice(users)["id"], "context_team_id": TEAM_ID,
            "topic": {"value": f"topic {i}"}, "purpose": {"value": f"purpose {i}"},
            "previous_names": [], "shared_team_ids": [TEAM_ID],
        })
    return out


def jsonl_gz(records: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode(), mtime=0)


def orders_csv(n: int, rng: random.Random, bad_rows: int = 0) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["order_id", "customer", "amount", "status", "note"])
    for i in range(n):
        note = "gift\nwrap please" if i % 50 == 7 else ""  # quoted newline, as real exports have
        w.writerow([1000 + i, f"cust-{rng.randint(1, 40)}", f"{rng.uniform(5, 500):.2f}",
                    rng.choice(["paid", "shipped", "refunded"]), note])
    text = buf.getvalue()
    for _ in range(bad_rows):  # a ragged row: one field short
        text += "9999,cust-x\n"
    return text.encode()


def events_parquet(n: int, rng: random.Random, day: dt.date) -> bytes:
    base = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
    table = pa.table({
        "event_id": pa.array(range(n), pa.int64()),
        "kind": pa.array([rng.choice(["view", "click", "buy"]) for _ in range(n)]),
        "value": pa.array([rng.random() * 100 for _ in range(n)]),
        "at": pa.array([base + dt.timedelta(seconds=37 * i) for i in range(n)], pa.timestamp("us", tz="UTC")),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=max(1, n // 3))
    return sink.getvalue()


def demo_objects(seed: int = 7) -> dict[str, bytes]:
    """key -> bytes for the demo bucket; two Airbyte syncs for Slack users and channels."""
    rng = random.Random(seed)
    users = slack_users(120, rng)
    channels = slack_channels(40, users, rng)
    first = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
    second = first + dt.timedelta(hours=24)
    objects = {
        airbyte_key("users", first): jsonl_gz([_airbyte(u, first, rng) for u in users[:80]]),
        airbyte_key("users", second): jsonl_gz([_airbyte(u, second, rng) for u in users[80:]]),
        airbyte_key("channels", first): jsonl_gz([_airbyte(c, first, rng) for c in channels[:25]]),
        airbyte_key("channels", second, 1): jsonl_gz([_airbyte(c, second, rng) for c in channels[25:]]),
        "exports/orders/orders_2026-11-20.csv": orders_csv(200, rng),
        "exports/orders/orders_2026-11-21.csv": orders_csv(150, rng, bad_rows=1),
        "warehouse/events/part-0000.parquet": events_parquet(500, rng, dt.date(2026, 11, 20)),
        "warehouse/events/part-0001.parquet": events_parquet(300, rng, dt.date(2026, 11, 21)),
    }
    return objects
