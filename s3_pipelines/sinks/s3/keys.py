"""Object keys from a template. The default is Pipedream's layout, the time being the window's
start (UTC) and `{id}` a hash of the object's content, so the same records give the same key."""

from __future__ import annotations

import datetime as dt
import string

DEFAULT_TEMPLATE = "{prefix}{YYYY}/{MM}/{DD}/{HH}/{YYYY}-{MM}-{DD}-{HH}-{mm}-{SS}-{id}{ext}"
FIELDS = ("prefix", "YYYY", "MM", "DD", "HH", "mm", "SS", "id", "ext")
ID_CHARS = 32  # hex characters of the content's SHA-256 in `{id}` (128 bits)


def check_template(template: str) -> None:
    """Unknown placeholders, format specs and stray braces are errors, named."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"key_template {template!r}: {exc}") from None
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if name not in FIELDS or spec or conv:
            raise ValueError(f"key_template {template!r}: unknown placeholder {{{name}}} "
                             f"(known: {', '.join('{' + f + '}' for f in FIELDS)})")


def render_key(template: str, *, prefix: str, start: dt.datetime, content_id: str, ext: str) -> str:
    check_template(template)
    t = start.astimezone(dt.timezone.utc)
    key = template.format(prefix=prefix, YYYY=f"{t.year:04d}", MM=f"{t.month:02d}", DD=f"{t.day:02d}",
                          HH=f"{t.hour:02d}", mm=f"{t.minute:02d}", SS=f"{t.second:02d}",
                          id=content_id[:ID_CHARS], ext=ext)
    if not key or key.startswith("/") or "//" in key:
        raise ValueError(f"key_template {template!r} gives the key {key!r}, which S3 tools mishandle")
    return key
