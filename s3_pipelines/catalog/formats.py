"""String formats of blueprint properties that are checked (others are accepted as strings)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from urllib.parse import urlsplit

# RFC 3339 (JSON Schema "date-time"): a date, T or space, a time, a zone (Z or +hh:mm) required
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$")
_EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\]+\.[^@\s\"(),:;<>\[\]\\.]+$")


def _date_time(v: str) -> bool:
    m = _DATE_TIME.match(v)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        dt.datetime(year, month, day, hour, minute, min(second, 59))  # 60: a leap second
    except ValueError:
        return False
    return second <= 60


def _url(v: str) -> bool:
    if any(c.isspace() for c in v):
        return False
    try:
        parts = urlsplit(v)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme or "")) and bool(parts.netloc)


def _ip(version: int):
    def check(v: str) -> bool:
        try:
            return ipaddress.ip_address(v).version == version
        except ValueError:
            return False

    return check


CHECKS = {
    "date-time": (_date_time, "an RFC 3339 date-time with a zone, e.g. 2024-01-31T12:00:00Z"),
    "url": (_url, "an absolute URL (scheme://host...)"),
    "email": (lambda v: bool(_EMAIL.match(v)), "an email address"),
    "ipv4": (_ip(4), "an IPv4 address"),
    "ipv6": (_ip(6), "an IPv6 address"),
}


def format_problem(fmt: str | None, value: str) -> str | None:
    """Why `value` is not of string format `fmt`, or None when it is (or the format is unchecked)."""
    check = CHECKS.get(fmt or "")
    if check is None or check[0](value):
        return None
    return f"is not {check[1]}"
