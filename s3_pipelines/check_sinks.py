"""Checks of the `destinations:` and `syncs:` sections that their models cannot make alone: names,
references to connections, streams, mappings and tables, key templates, windows and cron strings.
Read from the file's data (so they are reported beside field errors), one line per problem."""

from __future__ import annotations

import re

from .config.names import NAME_RE, NAME_RULE
from .sinks.s3.keys import check_template
from .sinks.s3.windows import parse_window
from .targets import TARGETS

CRON_RE = re.compile(r"^\s*(@(hourly|daily|weekly|monthly)|(\S+\s+){4}\S+)\s*$")


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _s3(where: str, name, conns: dict) -> list[str]:
    conn = conns.get(name)
    if not isinstance(conn, dict):
        return [f"{where}: no connection named {name!r}"]
    if conn.get("type") != "s3":
        return [f"{where}: {name!r} is a {conn.get('type')} connection, not s3"]
    return []


def sink_problems(data: dict) -> list[str]:
    conns, streams = _dict(data.get("connections")), _dict(data.get("streams"))
    tables = _dict(data.get("tables"))
    mappings = {m.get("name") for m in data.get("mappings") or [] if isinstance(m, dict)}
    problems: list[str] = []
    for name, d in _dict(data.get("destinations")).items():
        where = f"destinations.{name}"
        if not NAME_RE.match(str(name)):
            problems.append(f"{where}: {NAME_RULE}")
        if not isinstance(d, dict):
            continue
        if "connection" in d:
            problems += _s3(f"{where}.connection", d["connection"], conns)
        src = _dict(d.get("from"))
        for kind, known in (("stream", streams), ("mapping", mappings), ("table", tables)):
            if src.get(kind) is not None and src[kind] not in known:
                problems.append(f"{where}.from.{kind}: no {kind} named {src[kind]!r}")
        if d.get("key_template"):
            try:
                check_template(str(d["key_template"]))
            except ValueError as e:
                problems.append(f"{where}.key_template: {e}")
        try:
            parse_window(str(d.get("batch_window", "1m")))
        except ValueError as e:
            problems.append(f"{where}.batch_window: {e}")
    for name, s in _dict(data.get("syncs")).items():
        where = f"syncs.{name}"
        if not NAME_RE.match(str(name)):
            problems.append(f"{where}: {NAME_RULE}")
        if not isinstance(s, dict):
            continue
        if s.get("schedule") and not CRON_RE.match(str(s["schedule"])):
            problems.append(f"{where}.schedule: {s['schedule']!r} is not a cron string of five fields")
        if s.get("kind") == "bulk":
            problems += _bulk_problems(where, s, conns, streams)
        elif s.get("kind") == "model":
            problems += _model_problems(where, s, conns)
    return problems


def _bulk_problems(where: str, s: dict, conns: dict, streams: dict) -> list[str]:
    out = []
    for field in ("source", "destination"):
        if field in s:
            out += _s3(f"{where}.{field}", s[field], conns)
    of_source = [n for n, st in streams.items() if isinstance(st, dict) and st.get("connection") == s.get("source")]
    for stream in s.get("streams") or []:
        if stream not in of_source:
            out.append(f"{where}.streams: {stream!r} is not a stream of connection {s.get('source')!r}"
                       f" (its streams: {', '.join(of_source) or 'none'})")
    if s.get("streams") is None and not of_source and "source" in s:
        out.append(f"{where}.streams: connection {s.get('source')!r} has no streams to copy")
    for stream in _dict(s.get("primary_key")):
        if stream not in (s.get("streams") or of_source):
            out.append(f"{where}.primary_key.{stream}: not a stream of this sync")
    if s.get("mode") == "replicate":
        for stream in s.get("streams") or of_source:
            if not _dict(s.get("primary_key")).get(stream):
                out.append(f"{where}.primary_key: mode replicate needs key columns for stream {stream!r}")
    return out


def _model_problems(where: str, s: dict, conns: dict) -> list[str]:
    out = []
    src, target = _dict(s.get("source")), _dict(s.get("target"))
    if "connection" in src:
        out += _s3(f"{where}.source.connection", src["connection"], conns)
    if "connection" in target:
        out += _s3(f"{where}.target.connection", target["connection"], conns)
    if "catalog" in target:
        conn = conns.get(target["catalog"])
        if not isinstance(conn, dict) or conn.get("type") not in TARGETS:
            out.append(f"{where}.target.catalog: no {' or '.join(TARGETS)} connection named {target['catalog']!r}")
    return out
