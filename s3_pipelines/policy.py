"""`s3-pipelines policy`: per S3 connection, the least-privilege IAM policy the configured pipelines
need, derived from the same selection code that lists and reads, so it cannot drift from it.

What each part of the configuration makes the engine do, and so what it is granted:

| what | requests | granted |
|---|---|---|
| a stream selecting prefixes, a pattern or a data source | ListObjectsV2 of its roots, GET/HEAD | `s3:ListBucket` on the bucket with `s3:prefix` StringLike `<root>*`; `s3:GetObject` on `<root>*` (a pattern: on the pattern) |
| a stream selecting `objects` / `uris` | HEAD, GET of those keys | `s3:GetObject` on each key |
| a data source (observation, create) | ListObjectsV2 of its prefix | `s3:ListBucket` with `s3:prefix` `<prefix>*` |
| staging on S3 | PUT / multipart, HEAD, ranged GET, DELETE of replaced files | `s3:PutObject`, `s3:GetObject`, `s3:DeleteObject`, `s3:AbortMultipartUpload`, `s3:ListMultipartUploadParts` on `<staging>*` |
| a destination | HEAD (create-only), PUT / multipart, abort of stale uploads | `s3:PutObject`, `s3:GetObject`, `s3:AbortMultipartUpload`, `s3:ListMultipartUploadParts` on `<prefix>*`; `s3:ListBucketMultipartUploads` on the bucket |
| `event_queue_url` | ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibility, GetQueueAttributes | those `sqs:` actions on the queue |
| `auth.mode: iam_role` | STS AssumeRole | the role's trust policy with `sts:ExternalId`; the caller may `sts:AssumeRole` that role only |

No statement has a `*` action or `Resource: "*"`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from .config.models import PipelinesConfig, S3ConnectionConfig
from .selection import explicit_keys, selection_roots, static_prefix

READ = ["s3:GetObject"]
STAGING = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
DESTINATION = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
QUEUE = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
VERSION = "2012-10-17"


@dataclass
class ConnectionPolicy:
    connection: str
    bucket: str
    policy: dict
    trust_policy: dict | None = None  # iam_role connections: the role's trust relationship
    caller_policy: dict | None = None  # iam_role connections: what the identity that assumes the role needs
    uses: list[str] = field(default_factory=list)  # what in the config asked for each grant, for people

    def to_json(self) -> dict:
        out = {"connection": self.connection, "bucket": self.bucket, "policy": self.policy}
        if self.trust_policy is not None:
            out["trustPolicy"] = self.trust_policy
            out["callerPolicy"] = self.caller_policy
        out["uses"] = self.uses
        return out


def _object_arn(bucket: str, key_pattern: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key_pattern}"


def _pattern_arn(conn: S3ConnectionConfig, pattern: str) -> str:
    """A select pattern as an IAM resource: `**` and `*` become `*` (which spans `/` in IAM), `?` stays."""
    return _object_arn(conn.bucket, conn.prefix + re.sub(r"\*+", "*", pattern.lstrip("/")))


def queue_arn(url: str, conn: S3ConnectionConfig) -> str:
    """`https://sqs.<region>.amazonaws.com/<account>/<name>` -> `arn:aws:sqs:<region>:<account>:<name>`."""
    u = urlparse(url)
    parts = [p for p in u.path.split("/") if p]
    if len(parts) != 2:
        raise ValueError(f"event_queue_url {url!r} is not https://sqs.<region>.amazonaws.com/<account>/<queue>")
    m = re.match(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com", u.hostname or "")
    region = m.group(1) if m else (getattr(conn, "sqs_region", None) or conn.region or "us-east-1")
    return f"arn:aws:sqs:{region}:{parts[0]}:{parts[1]}"


def _role_account(arn: str) -> str | None:
    m = re.match(r"^arn:aws[a-z-]*:iam::(\d{12}):role/", arn)
    return m.group(1) if m else None


def _registered_sources(cfg: PipelinesConfig) -> list[tuple[str, str, str]]:
    """(name, connection, prefix) of the active data sources: the file's and the registry's."""
    from .datasources import Registry

    out = {n: (n, d.connection, d.prefix) for n, d in cfg.datasources.items()}
    registry = Registry.open_existing(cfg)
    if registry is not None:
        for d in registry.all():
            if d.disabled:
                out.pop(d.name, None)
            else:
                out.setdefault(d.name, (d.name, d.connection, d.prefix))
    return sorted(out.values())


def _collect(cfg: PipelinesConfig, name: str) -> tuple[dict[str, set], set[str], list[str]]:
    """For one connection: actions per resource ARN, prefixes to list, and what asked for them."""
    conn = cfg.s3_connection(name)
    grants: dict[str, set] = {}
    lists: set[str] = set()
    uses: list[str] = []

    def grant(arn: str, actions: list[str]) -> None:
        grants.setdefault(arn, set()).update(actions)

    for sname, stream in cfg.streams.items():
        if stream.connection != name:
            continue
        sel = stream.select
        if sel.objects is not None or sel.uris is not None:
            for key in explicit_keys(conn, sel):
                grant(_object_arn(conn.bucket, key), READ)
        elif sel.pattern is not None:
            grant(_pattern_arn(conn, sel.pattern), READ)
            lists.add(conn.prefix + static_prefix(sel.pattern.lstrip("/")))
        else:
            for root in selection_roots(conn, sel):
                grant(_object_arn(conn.bucket, root + "*"), READ)
                lists.add(root)
        uses.append(f"stream {sname}: read")
    for ds_name, ds_conn, prefix in _registered_sources(cfg):
        if ds_conn == name:
            lists.add(conn.prefix + prefix)
            uses.append(f"data source {ds_name}: list (observation)")
    staging = cfg.state.staging
    if staging.connection == name:
        grant(_object_arn(conn.bucket, conn.prefix + staging.prefix.lstrip("/") + "*"), STAGING)
        uses.append("state.staging: write, read, replace")
    for dname, dest in (getattr(cfg, "destinations", None) or {}).items():
        if dest.connection == name:
            grant(_object_arn(conn.bucket, conn.prefix + dest.prefix.lstrip("/") + "*"), DESTINATION)
            uses.append(f"destination {dname}: create-only write")
    return grants, lists, uses


def _minimal_roots(prefixes: set[str]) -> list[str]:
    kept: list[str] = []
    for p in sorted(prefixes):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def connection_policy(cfg: PipelinesConfig, name: str) -> ConnectionPolicy:
    conn = cfg.s3_connection(name)
    grants, lists, uses = _collect(cfg, name)
    statements = []
    by_actions: dict[tuple, list[str]] = {}
    for arn, actions in grants.items():
        by_actions.setdefault(tuple(sorted(actions)), []).append(arn)
    # an ARN whose actions are a subset of another's grant is dropped when that ARN covers it
    for i, (actions, arns) in enumerate(sorted(by_actions.items())):
        sid = {tuple(READ): "ReadSelectedObjects", tuple(STAGING): "Staging",
               tuple(DESTINATION): "WriteDestinations"}.get(actions, f"Objects{i}")
        statements.append({"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": sorted(arns)})
    if lists:
        statements.append({"Sid": "ListSelectedPrefixes", "Effect": "Allow", "Action": ["s3:ListBucket"],
                           "Resource": [f"arn:aws:s3:::{conn.bucket}"],
                           "Condition": {"StringLike": {"s3:prefix": [p + "*" for p in _minimal_roots(lists)]}}})
    if any(d.connection == name for d in (getattr(cfg, "destinations", None) or {}).values()):
        statements.append({"Sid": "FindStaleUploads", "Effect": "Allow", "Action": ["s3:ListBucketMultipartUploads"],
                           "Resource": [f"arn:aws:s3:::{conn.bucket}"]})
    if conn.event_queue_url:
        statements.append({"Sid": "EventQueue", "Effect": "Allow", "Action": QUEUE,
                           "Resource": [queue_arn(conn.event_queue_url, conn)]})
        uses.append("event_queue_url: receive and delete notifications")
    out = ConnectionPolicy(name, conn.bucket, {"Version": VERSION, "Statement": statements}, uses=uses)
    if conn.auth.mode == "iam_role":
        role = conn.auth.iam_role_arn
        account = _role_account(role)
        principal = f"arn:aws:iam::{account}:root" if account else "arn:aws:iam::<ACCOUNT_ID>:root"
        trust = {"Sid": "AssumedByS3Pipelines", "Effect": "Allow", "Principal": {"AWS": principal},
                 "Action": "sts:AssumeRole"}
        if conn.auth.external_id is not None:
            trust["Condition"] = {"StringEquals": {"sts:ExternalId": f"<value of ${conn.auth.external_id.env}>"
                                                   if conn.auth.external_id.env else "<external id>"}}
        out.trust_policy = {"Version": VERSION, "Statement": [trust]}
        out.caller_policy = {"Version": VERSION, "Statement": [
            {"Sid": "AssumeIngestRole", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": [role]}]}
        uses.append(f"auth iam_role: assume {role}")
    return out


def policies(cfg: PipelinesConfig, connection: str | None = None) -> list[ConnectionPolicy]:
    names = [n for n, c in cfg.connections.items() if c.type == "s3"]
    if connection is not None:
        if connection not in names:
            raise ValueError(f"no s3 connection named {connection!r} (s3 connections: {', '.join(names) or 'none'})")
        names = [connection]
    return [connection_policy(cfg, n) for n in names]


# --- output ----------------------------------------------------------------------------------


def _tf_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _tf_document(block: str, doc: dict) -> list[str]:
    lines = [f'data "aws_iam_policy_document" "{block}" {{']
    for st in doc["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        lines += ["  statement {", f'    sid     = {json.dumps(st["Sid"])}', f'    effect  = "{st["Effect"]}"',
                  f"    actions = {json.dumps(actions)}"]
        if "Resource" in st:
            lines.append(f"    resources = {json.dumps(st['Resource'])}")
        for ptype, ids in (st.get("Principal") or {}).items():
            lines += ["    principals {", f'      type        = "{ptype}"', f"      identifiers = {json.dumps([ids])}",
                      "    }"]
        for test, keys in (st.get("Condition") or {}).items():
            for key, values in keys.items():
                values = values if isinstance(values, list) else [values]
                lines += ["    condition {", f'      test     = "{test}"', f'      variable = "{key}"',
                          f"      values   = {json.dumps(values)}", "    }"]
        lines.append("  }")
    return lines + ["}"]


def render(found: list[ConnectionPolicy], fmt: str = "json") -> str:
    if fmt == "json":
        return json.dumps({p.connection: p.to_json() for p in found}, indent=2)
    out: list[str] = []
    for p in found:
        base = f"s3_pipelines_{_tf_name(p.connection)}"
        out.append(f"# connection {p.connection} (bucket {p.bucket}): " + "; ".join(p.uses))
        out += _tf_document(base, p.policy)
        out += [f'resource "aws_iam_policy" "{base}" {{', f'  name   = "{base}"',
                f"  policy = data.aws_iam_policy_document.{base}.json", "}"]
        if p.trust_policy is not None:
            doc = json.loads(json.dumps(p.trust_policy))
            for st in doc["Statement"]:  # the external id from a variable, not pasted into the file
                if "Condition" in st:
                    st["Condition"]["StringEquals"]["sts:ExternalId"] = "${var." + base + "_external_id}"
            out += [f'variable "{base}_external_id" {{', "  type      = string", "  sensitive = true", "}"]
            out += _tf_document(f"{base}_trust", doc)
            out += _tf_document(f"{base}_caller", p.caller_policy)
        out.append("")
    return "\n".join(out)
