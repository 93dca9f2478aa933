"""Which objects a stream reads: its `select` block resolved against the connection.

Keys, prefixes and the pattern in `select` are relative to the connection prefix; `uris` are
absolute. Nothing may resolve outside the connection's bucket and prefix.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator

from .config.models import S3ConnectionConfig, Select
from .objects import S3Object

log = logging.getLogger(__name__)
WILDCARDS = "*?"


@functools.lru_cache(maxsize=256)
def glob_to_regex(pattern: str) -> re.Pattern:
    """`*` and `?` stay within one path segment; `**` spans segments (also none: `**.json` matches
    `x.json`, `a/**/b` matches `a/b`)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def static_prefix(pattern: str) -> str:
    """The literal start of a pattern (`penguins/2024-*.json` -> `penguins/2024-`): listing narrows to it."""
    cut = min((pattern.find(c) for c in WILDCARDS if c in pattern), default=len(pattern))
    return pattern[:cut]


def _relative(rel: str) -> str:
    rel = rel.lstrip("/")
    if ".." in rel.split("/"):
        raise ValueError(f"{rel!r}: '..' would leave the connection prefix")
    return rel


def resolve_key(conn: S3ConnectionConfig, rel: str) -> str:
    """Full key of a key (or prefix) given relative to the connection prefix."""
    return conn.prefix + _relative(rel)


def key_of_uri(conn: S3ConnectionConfig, uri: str) -> str:
    """Full key of an `s3://bucket/key` uri, which must lie inside the connection."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3://bucket/key uri")
    bucket, _, key = uri[5:].partition("/")
    if bucket != conn.bucket:
        raise ValueError(f"{uri}: bucket {bucket!r} is not the connection's bucket {conn.bucket!r}")
    if not key or not key.startswith(conn.prefix) or ".." in key.split("/"):
        raise ValueError(f"{uri}: outside the connection prefix {conn.prefix!r}")
    return key


def explicit_keys(conn: S3ConnectionConfig, select: Select) -> list[str]:
    """Full keys named by `objects` or `uris`, in order, without duplicates."""
    if select.objects is not None:
        keys = [resolve_key(conn, k) for k in select.objects]
    else:
        keys = [key_of_uri(conn, u) for u in select.uris or []]
    return list(dict.fromkeys(keys))


def selection_roots(conn: S3ConnectionConfig, select: Select) -> list[str]:
    """Full key prefixes to list, none inside another (so nothing is listed twice). For `objects`
    and `uris` the keys themselves."""
    if select.objects is not None or select.uris is not None:
        return explicit_keys(conn, select)
    if select.pattern is not None:
        return [resolve_key(conn, static_prefix(select.pattern))]
    roots = sorted({resolve_key(conn, p) for p in select.listed_prefixes() or []})
    kept: list[str] = []
    for root in roots:  # sorted: a covering prefix comes before what it covers
        if not any(root.startswith(k) for k in kept):
            kept.append(root)
    return kept


def is_folder_marker(key: str) -> bool:
    """Zero-byte `folder/` keys made by consoles: not data."""
    return key.endswith("/")


def matches(conn: S3ConnectionConfig, select: Select, key: str) -> bool:
    """Whether a full key is part of the selection. A listed key is literal: `in/../x` lies under
    `in/` in S3 and is loaded like any other (staging names files by hash, never by key); only
    keys written in the config may not hold `..`."""
    if not key.startswith(conn.prefix) or is_folder_marker(key):
        return False
    if select.pattern is not None:
        return glob_to_regex(_relative(select.pattern)).match(key[len(conn.prefix) :]) is not None
    if select.listed_prefixes() is not None:
        return any(key.startswith(root) for root in selection_roots(conn, select))
    return key in explicit_keys(conn, select)


def iter_selected(
    client,
    select: Select,
    missing: list[str] | None = None,
    on_missing: Callable[[str], None] | None = None,
) -> Iterator[S3Object]:
    """Every selected object: a full paginated listing for prefixes/pattern, a HEAD per key for
    objects/uris. Named objects that do not exist go to `missing` (their s3:// uris) and/or
    `on_missing`; with neither given they are logged as warnings."""
    conn = client.conn
    if select.objects is not None or select.uris is not None:
        for key in explicit_keys(conn, select):
            obj = client.head(key)
            if obj is not None:
                yield obj
                continue
            uri = f"s3://{conn.bucket}/{key}"
            if missing is not None:
                missing.append(uri)
            if on_missing is not None:
                on_missing(uri)
            if missing is None and on_missing is None:
                log.warning("selected object %s does not exist", uri)
        return
    for root in selection_roots(conn, select):
        token = None
        while True:
            page, token = client.list_page(root, token=token)
            yield from (o for o in page if matches(conn, select, o.key))
            if token is None:
                break
