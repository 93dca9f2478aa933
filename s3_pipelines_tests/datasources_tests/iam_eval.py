"""A small evaluator of IAM identity-policy statements, for what `s3-pipelines policy` generates:
Effect, Action (wildcards, any case), Resource (wildcards `*` and `?`, case-sensitive), and
Condition with the string operators (StringEquals, StringNotEquals, StringLike, StringNotLike,
their `IfExists` forms), several values of one key ORed, several keys and operators ANDed.
An explicit Deny wins over an Allow; no Allow is an implicit deny (AWS's evaluation logic for one
identity policy). A key missing from the request fails a positive operator and passes a negated
one; `IfExists` passes when the key is missing. NotAction / NotResource / Principal are refused
rather than guessed at. moto ignores `s3:prefix`; this evaluator is what proves that condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


@dataclass(frozen=True)
class Request:
    action: str  # e.g. s3:ListBucket
    resource: str  # e.g. arn:aws:s3:::bucket
    context: dict[str, str] = field(default_factory=dict)  # condition keys, e.g. {"s3:prefix": "data/"}


def _condition_holds(op: str, key: str, values: list[str], context: dict[str, str]) -> bool:
    if_exists = op.endswith("IfExists")
    base = op[: -len("IfExists")] if if_exists else op
    if base not in ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike"):
        raise ValueError(f"condition operator {op} is not supported by this evaluator")
    present = {k.lower(): v for k, v in context.items()}
    if key.lower() not in present:
        return if_exists or base in ("StringNotEquals", "StringNotLike")
    actual = present[key.lower()]
    if base == "StringEquals":
        return actual in values
    if base == "StringNotEquals":
        return actual not in values
    if base == "StringLike":
        return any(_wildcard(v, False).match(actual) for v in values)
    return not any(_wildcard(v, False).match(actual) for v in values)


def statement_matches(st: dict, req: Request) -> bool:
    for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
        if unsupported in st:
            raise ValueError(f"{unsupported} is not supported by this evaluator")
    if not any(_wildcard(a, True).match(req.action) for a in _as_list(st["Action"])):
        return False
    if not any(_wildcard(r, False).match(req.resource) for r in _as_list(st["Resource"])):
        return False
    for op, keys in (st.get("Condition") or {}).items():
        for key, values in keys.items():
            if not _condition_holds(op, key, [str(v) for v in _as_list(values)], req.context):
                return False
    return True


def evaluate(policy: dict, req: Request) -> str:
    """"Allow", "ExplicitDeny" or "ImplicitDeny"."""
    matched = [st["Effect"] for st in _as_list(policy["Statement"]) if statement_matches(st, req)]
    if "Deny" in matched:
        return "ExplicitDeny"
    return "Allow" if "Allow" in matched else "ImplicitDeny"


def allowed(policy: dict, action: str, resource: str, **context: str) -> bool:
    ctx = {k.replace("__", ":"): v for k, v in context.items()}
    return evaluate(policy, Request(action, resource, ctx)) == "Allow"


# --- what an S3 request needs, from a line of a server's request log ------------------------

_LINE = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def s3_request(method: str, target: str) -> Request | None:
    """The IAM action, resource and condition keys of one path-style S3 request (None: not S3)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(target)
    path = unquote(parts.path)
    if path.startswith("/moto-api") or path in ("", "/"):
        return None
    bucket, _, key = path.lstrip("/").partition("/")
    q = parse_qs(parts.query, keep_blank_values=True)
    if not key:
        if method == "GET" and "uploads" in q:
            return Request("s3:ListBucketMultipartUploads", f"arn:aws:s3:::{bucket}")
        if method in ("GET", "HEAD") and not set(q) - {"list-type", "prefix", "max-keys", "encoding-type",
                                                          "continuation-token", "start-after", "delimiter"}:
            ctx = {"s3:prefix": q["prefix"][0]} if "prefix" in q else {}
            return Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", ctx)
        return Request(f"s3:bucket-{method}", f"arn:aws:s3:::{bucket}")  # not one the pipelines make
    arn = f"arn:aws:s3:::{bucket}/{key}"
    if method in ("GET", "HEAD"):
        return Request("s3:ListMultipartUploadParts" if "uploadId" in q else "s3:GetObject", arn)
    if method in ("PUT", "POST"):
        return Request("s3:PutObject", arn)  # single PUT, CreateMultipartUpload, UploadPart, Complete
    if method == "DELETE":
        return Request("s3:AbortMultipartUpload" if "uploadId" in q else "s3:DeleteObject", arn)
    return None


def requests_in_log(text: str) -> list[tuple[Request, int]]:
    """(request, HTTP status) of each S3 request in a werkzeug-style access log (moto's)."""
    out = []
    for m in _LINE.finditer(re.sub(r"\x1b\[[0-9;]*m", "", text)):  # werkzeug colours refusals
        req = s3_request(m.group(1), m.group(2))
        if req is not None:
            out.append((req, int(m.group(3))))
    return out
