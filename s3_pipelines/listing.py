"""Incremental discovery of new objects for sensors, with a small JSON cursor.

S3 cannot list "what changed since T", so two strategies bound the cost of a tick:
- `start_after`: keys sort by arrival (Airbyte, Pipedream layouts); per listing root the cursor
  keeps the greatest key seen and a tick lists only after it (one request when nothing is new).
- `watermark`: any layout; ticks sweep the roots a few pages at a time (resuming by key, since
  continuation tokens may expire) and return objects modified at or after the watermark minus an
  overlap. A finished sweep advances the watermark.
Candidates may repeat across ticks; the caller dedups by (key, etag) with its ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from .config.models import Listing, Select
from .objects import S3Object
from .selection import explicit_keys, matches, selection_roots

CURSOR_VERSION = 1


@dataclass
class Discovery:
    objects: list[S3Object]
    cursor: dict
    list_requests: int
    complete: bool  # a whole sweep (or catch-up to the end of every root) finished in this tick
    missing: list[str] = field(default_factory=list)  # explicit objects/uris that do not exist


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value else None


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _fingerprint(roots: list[str]) -> str:
    return hashlib.sha256("\n".join(roots).encode()).hexdigest()[:16]


def discover(
    client, select: Select, listing: Listing, cursor: dict | None, now: dt.datetime | None = None, page_size: int = 1000
) -> Discovery:
    """One sensor tick: at most `listing.max_pages_per_tick` list requests of `page_size` keys."""
    now = now or dt.datetime.now(dt.timezone.utc)
    before = client.list_requests
    if select.objects is not None or select.uris is not None:
        found, missing = [], []
        for key in explicit_keys(client.conn, select):
            obj = client.head(key)
            (found.append(obj) if obj else missing.append(f"s3://{client.bucket}/{key}"))
        return Discovery(found, {"v": CURSOR_VERSION, "mode": "explicit"}, 0, True, missing)
    if not cursor or cursor.get("v") != CURSOR_VERSION or cursor.get("mode") != listing.mode:
        cursor = {}  # first tick, or the listing mode changed: start over
    if listing.mode == "start_after":
        objects, new_cursor, complete = _start_after(client, select, listing, cursor, page_size)
    else:
        objects, new_cursor, complete = _watermark(client, select, listing, cursor, now, page_size)
    return Discovery(objects, new_cursor, client.list_requests - before, complete)


def _start_after(client, select, listing, cursor, page_size):
    roots = selection_roots(client.conn, select)
    # per root the greatest key seen, stored without the root to keep the cursor small
    after = {r: r + k for r, k in (cursor.get("after") or {}).items() if r in roots}  # drops unselected roots
    first = cursor.get("next_root", 0) % len(roots)  # start where the budget ran out, so no root starves
    order = roots[first:] + roots[:first]
    budget, found, complete, next_root = listing.max_pages_per_tick, [], True, 0
    for i, root in enumerate(order):
        token = None
        while True:
            if budget == 0:
                complete, next_root = False, (first + i) % len(roots)
                break
            page, token = client.list_page(root, start_after=after.get(root), token=token, max_keys=page_size)
            budget -= 1
            found += [o for o in page if matches(client.conn, select, o.key)]
            if page:
                after[root] = page[-1].key  # greatest key so far: lists sort by key
            if token is None:
                break
        if not complete:
            break
    suffixes = {r: k[len(r) :] for r, k in after.items()}
    return found, {"v": CURSOR_VERSION, "mode": "start_after", "after": suffixes, "next_root": next_root}, complete


def _watermark(client, select, listing, cursor, now, page_size):
    roots = selection_roots(client.conn, select)
    watermark = _time(cursor.get("watermark"))
    threshold = watermark - dt.timedelta(seconds=listing.overlap_seconds) if watermark else None
    sweep = cursor.get("sweep") or {}
    if sweep.get("roots") != _fingerprint(roots):
        sweep = {}  # the selection changed: sweep again from the start
    index, after = sweep.get("root", 0), sweep.get("after")
    seen_max = _time(sweep.get("max_modified"))
    started = _time(sweep.get("started")) or now
    budget, found = listing.max_pages_per_tick, []
    while budget > 0 and index < len(roots):
        page, token = client.list_page(roots[index], start_after=after, max_keys=page_size)
        budget -= 1
        for obj in page:
            if not matches(client.conn, select, obj.key):
                continue
            seen_max = max(seen_max, obj.last_modified) if seen_max else obj.last_modified
            if threshold is None or obj.last_modified >= threshold:
                found.append(obj)
        if token is None:
            index, after = index + 1, None
        else:
            after = page[-1].key
    if index < len(roots):
        sweep = {"roots": _fingerprint(roots), "root": index, "after": after, "max_modified": _iso(seen_max), "started": _iso(started)}
        return found, {"v": CURSOR_VERSION, "mode": "watermark", "watermark": _iso(watermark), "sweep": sweep}, False
    if seen_max:
        # An object written into an already-swept part during a long sweep is newer than the
        # sweep's start, so never move past that start (the overlap absorbs clock skew).
        candidate = min(seen_max, started)
        watermark = max(watermark, candidate) if watermark else candidate
    return found, {"v": CURSOR_VERSION, "mode": "watermark", "watermark": _iso(watermark), "sweep": None}, True
