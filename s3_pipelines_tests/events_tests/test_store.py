"""The ledger's event tables on SQLite and PostgreSQL: receipts kept per tick, dead letters counted
once per message and reason, removals spare versions written after the delete."""

import datetime as dt

from s3_pipelines.events.store import EventStore
from s3_pipelines.objects import S3Object
from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone.utc)


def test_receipts_dead_letters_and_removals(state_db):
    ledger = state_db.ledger()
    store = EventStore(ledger)
    store.keep_receipts("q", 1, [("m1", "r1"), ("m2", "r2")])
    store.keep_receipts("q", 2, [("m2", "r2b"), ("m3", "r3")])  # m2 came back: its newest receipt counts
    assert store.receipts("q", 1) == [("m1", "r1")]
    assert store.receipts("q", 2) == [("m1", "r1"), ("m2", "r2b"), ("m3", "r3")]
    store.forget_receipts("q", ["m1", "m2"])
    assert store.receipts("q", 9) == [("m3", "r3")]

    assert store.dead_letter("q", "m9", "unreadable: x", "body")
    assert not store.dead_letter("q", "m9", "unreadable: x", "body")  # received again: counted once
    assert store.dead_letters("q")[0] == 1

    old, new = S3Object("b", "k", "e1", 1, T0), S3Object("b", "k", "e2", 1, T0 + dt.timedelta(minutes=5))
    ledger.register("s", [old, new], lambda o: "p")
    removed = store.mark_removed("s", "b", "k", modified_before=T0 + dt.timedelta(minutes=1))
    assert [r.obj.etag for r in removed] == ["e1"]
    assert {r.obj.etag: r.status for r in ledger.rows("s")} == {"e1": "removed", "e2": "pending"}
    assert store.live_keys("s") == {("b", "k")}
    store.audit_removal("s", removed[0], "kept", "on_remove is keep")
    assert [a["action"] for a in store.removals("s")] == ["kept"]


def test_a_removed_version_written_again_is_pending_again(state_db):
    ledger = state_db.ledger()
    store = EventStore(ledger)
    o = S3Object("b", "k", "e1", 1, T0)
    ledger.register("s", [o], lambda o: "p")
    store.mark_removed("s", "b", "k")
    assert not store.revive("s", o)  # a late copy of the first creation event: still removed
    again = S3Object("b", "k", "e1", 1, dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5))
    assert store.revive("s", again)
    assert [r.status for r in ledger.rows("s")] == ["pending"]
