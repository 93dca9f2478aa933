"""Checks of event notifications and snapshot streams that their models cannot make alone:
`snapshot.target` names a SQL connection (or there is exactly one), two single-table snapshots do
not write one table, `event_queue_url` is a queue URL."""

from __future__ import annotations

from .targets import TARGETS, sql_connections, target_types


def event_problems(data: dict) -> list[str]:
    conns = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    streams = data.get("streams") if isinstance(data.get("streams"), dict) else {}
    problems = []
    for name, conn in conns.items():
        url = conn.get("event_queue_url") if isinstance(conn, dict) else None
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            problems.append(f"connections.{name}.event_queue_url: {url!r} is not a queue URL "
                            "(https://sqs.<region>.amazonaws.com/<account>/<queue>)")
    tables: dict[tuple, str] = {}
    for name, stream in streams.items():
        snap = stream.get("snapshot") if isinstance(stream, dict) else None
        if not isinstance(snap, dict):
            continue
        where, target = f"streams.{name}.snapshot", snap.get("target")
        if target is None:
            sql = sql_connections(conns)
            if len(sql) != 1:
                problems.append(f"{where}.target: required when there is not exactly one {target_types()} "
                                f"connection (found: {', '.join(sql) or 'none'})")
                continue
            target = sql[0]
        elif not isinstance(conns.get(target), dict) or conns[target].get("type") not in TARGETS:
            problems.append(f"{where}.target: no {target_types()} connection named {target!r}")
            continue
        if snap.get("mode") == "single_table":
            table = snap.get("table") or name
            if (target, table) in tables:
                problems.append(f"{where}.table: stream {tables[(target, table)]} writes table {table!r} of "
                                f"{target} too")
            tables[(target, table)] = name
    return problems
