"""Object events and reconciling listings -> ledger rows, and what to run for them.

Both paths register through the ledger (`Ledger.register`: one row per stream and object version),
so an object that a notification and a listing both report, or that a duplicated message names
twice, is pending once and loaded once. What to run is read back from the ledger: every partition
holding pending objects the tick touched (a run key made of those objects, so asking twice is one
run), and for snapshot streams the directories touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import ingest, selection, snapshots
from ..config.models import PipelinesConfig
from ..ledger import Ledger
from ..objects import S3Object
from .messages import CREATED, ObjectEvent, UnreadableMessage, collapse, parse_body
from .queue import Message
from .removals import apply_on_remove
from .store import EventStore


@dataclass
class Routed:
    registered: int = 0  # new object versions in the ledger
    seen_again: int = 0  # versions the ledger had already (duplicates, listing and event both)
    removed: int = 0  # versions marked removed
    partitions: dict[str, dict[str, str]] = field(default_factory=dict)  # stream -> partition -> run key
    snapshots: dict[str, dict[str, str]] = field(default_factory=dict)  # stream -> directory -> run key
    unrouted: list[str] = field(default_factory=list)  # s3:// uris outside every stream
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (message id, reason)
    test_events: int = 0
    list_requests: int = 0
    deletable: list[tuple[str, str]] = field(default_factory=list)  # (message id, receipt) handled

    def run_count(self) -> int:
        return sum(len(p) for p in self.partitions.values()) + sum(len(d) for d in self.snapshots.values())


def streams_of(cfg: PipelinesConfig, conn: str) -> list[str]:
    return [n for n, s in cfg.streams.items() if s.connection == conn]


class Router:
    def __init__(self, cfg: PipelinesConfig, conn: str, client, ledger: Ledger, store: EventStore | None = None,
                 staging=None, log: Callable[[str], None] = lambda m: None):
        self.cfg, self.conn_name, self.client, self.ledger = cfg, conn, client, ledger
        self.conn = cfg.s3_connection(conn)
        self.store = store or EventStore(ledger)
        self.staging, self.log = staging, log
        self.streams = streams_of(cfg, conn)

    # --- messages ------------------------------------------------------------------------------

    def messages(self, messages: list[Message]) -> Routed:
        out = Routed()
        queue = self.conn.event_queue_url or ""
        events: list[ObjectEvent] = []
        for m in messages:
            try:
                got = parse_body(m.body)
            except UnreadableMessage as e:
                out.unreadable.append((m.id, str(e)))
                if self.store.dead_letter(queue, m.id, f"unreadable: {e}", m.body):
                    self.log(f"message {m.id} is not an S3 event ({e}); left for the queue's redrive policy")
                continue  # not deleted: the queue's redrive policy moves it to its dead-letter queue
            out.test_events += not got
            events += got
            out.deletable.append((m.id, m.receipt))
        for e in collapse(events):
            if e.bucket != self.conn.bucket:
                self._unrouted(out, queue, f"s3://{e.bucket}/{e.key}", "another bucket")
            elif e.kind == CREATED:
                self._created(out, e)
            else:
                self._removed(out, e)
        self._runs(out)
        return out

    def _unrouted(self, out: Routed, queue: str, uri: str, why: str) -> None:
        out.unrouted.append(uri)
        if self.store.dead_letter(queue, uri, f"outside every stream of {self.conn_name} ({why})", None):
            self.log(f"{uri}: outside every stream of connection {self.conn_name} ({why})")

    def _matching(self, key: str) -> list[str]:
        return [n for n in self.streams if selection.matches(self.conn, self.cfg.streams[n].select, key)]

    def _created(self, out: Routed, e: ObjectEvent) -> None:
        names = self._matching(e.key)
        if not names:
            return self._unrouted(out, self.conn.event_queue_url or "", f"s3://{e.bucket}/{e.key}", "no selection matches")
        if e.etag and e.size is not None:
            obj = S3Object(e.bucket, e.key, e.etag, int(e.size), e.time)
        else:
            obj = self.client.head(e.key)  # an event without ETag / size: ask S3
            if obj is None:
                return  # gone again already: its removal event follows
        for n in names:
            self._register(out, n, [obj])

    def _removed(self, out: Routed, e: ObjectEvent) -> None:
        names = self._matching(e.key)
        if not names:
            return self._unrouted(out, self.conn.event_queue_url or "", f"s3://{e.bucket}/{e.key}", "no selection matches")
        for n in names:
            rows = self.store.mark_removed(n, e.bucket, e.key, modified_before=e.time + dt.timedelta(seconds=1))
            self._after_removal(out, n, rows)

    def _after_removal(self, out: Routed, name: str, rows) -> None:
        out.removed += len(rows)
        if not rows:
            return
        stream = self.cfg.streams[name]
        apply_on_remove(self.cfg, name, rows, self.store, self.staging, self.log)
        if stream.snapshot is not None and stream.on_remove == "delete_rows":
            for r in rows:
                d = snapshots.directory_of(stream.snapshot, self.conn.prefix, r.obj.key)
                if d is not None:
                    out.snapshots.setdefault(name, {}).setdefault(d, "")

    def _register(self, out: Routed, name: str, objects: list[S3Object], touch_all: bool = True) -> None:
        stream = self.cfg.streams[name]
        new = self.ledger.register(name, objects, ingest.partition_of(stream))
        if len(new) < len(objects):  # known versions: one removed and written again is pending again
            known = {(o.key, o.etag) for o in new}
            new += [o for o in objects if (o.key, o.etag) not in known
                    and self.store.revive(name, o, created_after_removal=touch_all)]
        out.registered += len(new)
        out.seen_again += len(objects) - len(new)
        if stream.snapshot is not None:
            for o in new:
                d = snapshots.directory_of(stream.snapshot, self.conn.prefix, o.key)
                if d is None:
                    self.log(f"{name}: {o.key} is in no directory of {stream.snapshot.directory_glob_pattern}")
                else:
                    out.snapshots.setdefault(name, {}).setdefault(d, "")
        else:  # events: every object named (a pending one may come from a tick that failed)
            touched = out.partitions.setdefault(name, {})
            for o in (objects if touch_all else new):
                touched.setdefault(ingest.partition_of(stream)(o), "")

    def _runs(self, out: Routed) -> None:
        """Run keys for the touched partitions that hold pending objects (others have nothing to do)."""
        for name, parts in out.partitions.items():
            for p in list(parts):
                pending = self.ledger.rows(name, p, status="pending")
                if pending:
                    digest = hashlib.sha256("\n".join(f"{r.obj.key}\0{r.obj.etag}" for r in pending).encode())
                    parts[p] = f"{name}:{p}:{digest.hexdigest()[:16]}"
                else:
                    del parts[p]
        for name, dirs in out.snapshots.items():
            snap = self.cfg.streams[name].snapshot
            rows = [r for r in self.ledger.rows(name) if r.status in snapshots.CANDIDATES]
            for d in dirs:
                live = sorted(f"{r.obj.key}\0{r.obj.etag}" for r in rows
                              if snapshots.directory_of(snap, self.conn.prefix, r.obj.key) == d)
                digest = hashlib.sha256("\n".join(live).encode()).hexdigest()[:16]
                dirs[d] = f"{name}:snapshot:{d}:{digest}"

    # --- reconciliation --------------------------------------------------------------------------

    def reconcile(self, names: list[str] | None = None) -> Routed:
        """A full listing of each stream's selection: what events missed is registered, live ledger
        rows of keys no longer listed become removed, and every partition with pending objects is
        asked for (also those whose run failed before claiming them)."""
        out = Routed()
        before = self.client.list_requests
        for name in names or self.streams:
            stream = self.cfg.streams[name]
            started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
            listed = list(selection.iter_selected(self.client, stream.select, missing=[]))
            self._register(out, name, listed, touch_all=False)
            present = {(o.bucket, o.key) for o in listed}
            for bucket, key in sorted(self.store.live_keys(name) - present):
                rows = self.store.mark_removed(name, bucket, key, discovered_before=started)
                self._after_removal(out, name, rows)
            if stream.snapshot is None:
                for p in self.ledger.pending_partitions(name):
                    out.partitions.setdefault(name, {}).setdefault(p, "")
            else:
                for r in self.ledger.rows(name, status="pending"):
                    d = snapshots.directory_of(stream.snapshot, self.conn.prefix, r.obj.key)
                    if d is not None:
                        out.snapshots.setdefault(name, {}).setdefault(d, "")
        out.list_requests = self.client.list_requests - before
        self._runs(out)
        return out
