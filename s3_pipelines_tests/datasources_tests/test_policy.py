"""`s3-pipelines policy`: the statements a config asks for, checked by a condition-honouring
evaluator (iam_eval, tested here against hand-written cases first) and linted by parliament."""

from __future__ import annotations

import json
import textwrap

import pytest
from parliament import analyze_policy_string

from s3_pipelines import cli
from s3_pipelines.config import load_config
from s3_pipelines.policy import policies, render

from .iam_eval import Request, allowed, evaluate, requests_in_log, s3_request

B = "arn:aws:s3:::lake"


# --- the evaluator against hand-written cases ------------------------------------------------

HAND = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{B}/data/*"},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": B,
     "Condition": {"StringLike": {"s3:prefix": ["data/*", "logs/2026-??/*"]}}},
    {"Effect": "Allow", "Action": "S3:Put*", "Resource": f"{B}/out/*"},
    {"Effect": "Deny", "Action": "s3:*", "Resource": f"{B}/data/secret/*"},
    {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"{B}/tmp/*",
     "Condition": {"StringNotLike": {"s3:prefix": "x*"}}},
    {"Effect": "Allow", "Action": "s3:GetObjectTagging", "Resource": f"{B}/*",
     "Condition": {"StringEqualsIfExists": {"s3:prefix": "exact"}}},
]}


@pytest.mark.parametrize("action,resource,context,expected", [
    ("s3:GetObject", f"{B}/data/a.json", {}, "Allow"),
    ("s3:getobject", f"{B}/data/deep/a.json", {}, "Allow"),  # actions: any case; * spans /
    ("s3:GetObject", f"{B}/Data/a.json", {}, "ImplicitDeny"),  # resources: case-sensitive
    ("s3:GetObject", f"{B}/other/a.json", {}, "ImplicitDeny"),
    ("s3:GetObject", f"{B}/data/secret/k", {}, "ExplicitDeny"),  # a Deny wins
    ("s3:ListBucket", B, {"s3:prefix": "data/"}, "Allow"),
    ("s3:ListBucket", B, {"s3:prefix": "data/2026/"}, "Allow"),
    ("s3:ListBucket", B, {"s3:prefix": "logs/2026-11/"}, "Allow"),  # ? is one character
    ("s3:ListBucket", B, {"s3:prefix": "logs/2026-1/"}, "ImplicitDeny"),
    ("s3:ListBucket", B, {"s3:prefix": "dat"}, "ImplicitDeny"),  # a shorter prefix lists more
    ("s3:ListBucket", B, {"s3:prefix": "other/"}, "ImplicitDeny"),
    ("s3:ListBucket", B, {}, "ImplicitDeny"),  # no prefix: the whole bucket
    ("s3:ListBucket", B, {"S3:Prefix": "data/"}, "Allow"),  # keys: any case
    ("s3:ListBucket", "arn:aws:s3:::lake2", {"s3:prefix": "data/"}, "ImplicitDeny"),
    ("s3:PutObject", f"{B}/out/x", {}, "Allow"),
    ("s3:PutObjectAcl", f"{B}/out/x", {}, "Allow"),
    ("s3:PutObject", f"{B}/data/x", {}, "ImplicitDeny"),
    ("s3:DeleteObject", f"{B}/tmp/x", {}, "Allow"),  # negated operator, key missing: holds
    ("s3:DeleteObject", f"{B}/tmp/x", {"s3:prefix": "xy"}, "ImplicitDeny"),
    ("s3:GetObjectTagging", f"{B}/a", {}, "Allow"),  # IfExists, key missing: holds
    ("s3:GetObjectTagging", f"{B}/a", {"s3:prefix": "other"}, "ImplicitDeny"),
])
def test_evaluator_hand_written_cases(action, resource, context, expected):
    assert evaluate(HAND, Request(action, resource, context)) == expected


def test_evaluator_refuses_what_it_does_not_model():
    with pytest.raises(ValueError, match="NotAction"):
        evaluate({"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}, Request("s3:GetObject", B))
    with pytest.raises(ValueError, match="NumericLessThan"):
        evaluate({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                 "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}]}, Request("s3:ListBucket", B))


def test_requests_of_a_server_log_become_actions():
    log = textwrap.dedent('''\
        127.0.0.1 - - [02/Dec/2026 08:00:00] "GET /lake?list-type=2&prefix=data%2Fx%2F&max-keys=1000 HTTP/1.1" 200 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "HEAD /lake/data/x/a.json HTTP/1.1" 200 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "PUT /lake/st/f.parquet HTTP/1.1" 200 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "POST /lake/out/k?uploads HTTP/1.1" 200 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "DELETE /lake/out/k?uploadId=abc HTTP/1.1" 204 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "GET /lake?uploads&prefix=out%2F HTTP/1.1" 200 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "DELETE /lake/st/f.parquet HTTP/1.1" 204 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "\x1b[31m\x1b[1mGET /lake/private/x HTTP/1.1\x1b[0m" 403 -
        127.0.0.1 - - [02/Dec/2026 08:00:00] "POST /moto-api/reset HTTP/1.1" 200 -
        ''')
    got = [(r.action, r.resource, r.context, status) for r, status in requests_in_log(log)]
    assert got == [
        ("s3:ListBucket", B, {"s3:prefix": "data/x/"}, 200),
        ("s3:GetObject", f"{B}/data/x/a.json", {}, 200),
        ("s3:PutObject", f"{B}/st/f.parquet", {}, 200),
        ("s3:PutObject", f"{B}/out/k", {}, 200),
        ("s3:AbortMultipartUpload", f"{B}/out/k", {}, 204),
        ("s3:ListBucketMultipartUploads", B, {}, 200),
        ("s3:DeleteObject", f"{B}/st/f.parquet", {}, 204),
        ("s3:GetObject", f"{B}/private/x", {}, 403),
    ]
    assert s3_request("GET", "/lake") == Request("s3:ListBucket", B, {})


# --- the generated policy --------------------------------------------------------------------

CONFIG = """\
connections:
  lake:
    type: s3
    bucket: lake
    prefix: base/
    region: eu-west-1
    event_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/lake-events
    auth: {mode: access_key_and_secret, aws_access_key_id: {env: K}, aws_secret_access_key: {env: S}}
  assumed:
    type: s3
    bucket: other-bucket
    auth: {mode: iam_role, iam_role_arn: "arn:aws:iam::210987654321:role/ingest", external_id: {env: EXT_ID}}
  catalog: {type: duckdb, path: state/catalog.duckdb}
datasources:
  research: {connection: lake, prefix: research/}
  watched: {connection: assumed, prefix: watched/}
streams:
  users:
    connection: lake
    select: {prefixes: ["data/users/", "data/users/2026/", "data/teams/"]}
    format: jsonl
  channels:
    connection: lake
    select: {pattern: "data/channels/**.jsonl.gz"}
    format: jsonl
  one:
    connection: lake
    select: {objects: ["crm/accounts.csv"]}
    format: csv
  research:
    connection: lake
    select: {datasource: research}
    format: jsonl
  elsewhere:
    connection: assumed
    select: {uris: ["s3://other-bucket/exports/a.parquet"]}
    format: parquet
destinations:
  archive:
    connection: lake
    prefix: exports/events/
    from: {stream: users}
state:
  staging: {connection: lake, prefix: _staging/}
"""


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "pipelines.yaml").write_text(CONFIG)
    return load_config(tmp_path / "pipelines.yaml")


def _statements(policy: dict) -> dict:
    return {st["Sid"]: st for st in policy["Statement"]}


def test_policy_statements_and_no_wildcard_grants(cfg):
    found = {p.connection: p for p in policies(cfg)}
    assert set(found) == {"lake", "assumed"}
    lake = _statements(found["lake"].policy)
    assert lake["ReadSelectedObjects"]["Resource"] == [
        f"{B}/base/crm/accounts.csv", f"{B}/base/data/channels/*.jsonl.gz", f"{B}/base/data/teams/*",
        f"{B}/base/data/users/*", f"{B}/base/research/*"]
    assert lake["ListSelectedPrefixes"]["Condition"] == {"StringLike": {"s3:prefix": [
        "base/data/channels/*", "base/data/teams/*", "base/data/users/*", "base/research/*"]}}
    assert lake["Staging"]["Resource"] == [f"{B}/base/_staging/*"]
    assert lake["WriteDestinations"] == {
        "Sid": "WriteDestinations", "Effect": "Allow", "Resource": [f"{B}/base/exports/events/*"],
        "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]}
    assert lake["EventQueue"]["Resource"] == ["arn:aws:sqs:eu-west-1:123456789012:lake-events"]
    assert sorted(lake["EventQueue"]["Action"]) == ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                                                    "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    for p in found.values():
        for doc in (p.policy, p.caller_policy, p.trust_policy):
            for st in (doc or {"Statement": []})["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert all("*" not in a for a in actions), st
                assert st.get("Resource", "x") != "*" and "*" not in st.get("Resource", []), st

    assumed = found["assumed"]
    trust = assumed.trust_policy["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "<value of $EXT_ID>"}}
    assert assumed.caller_policy["Statement"][0]["Resource"] == ["arn:aws:iam::210987654321:role/ingest"]
    a = _statements(assumed.policy)
    assert a["ReadSelectedObjects"]["Resource"] == ["arn:aws:s3:::other-bucket/exports/a.parquet"]
    assert a["ListSelectedPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == ["watched/*"]


def test_policy_allows_what_the_pipelines_do_and_nothing_beside(cfg):
    pol = {p.connection: p.policy for p in policies(cfg)}["lake"]
    ok = [
        ("s3:GetObject", f"{B}/base/data/users/2026/01.jsonl", {}),
        ("s3:GetObject", f"{B}/base/data/channels/x/y.jsonl.gz", {}),
        ("s3:GetObject", f"{B}/base/crm/accounts.csv", {}),
        ("s3:ListBucket", B, {"s3:prefix": "base/data/users/"}),
        ("s3:ListBucket", B, {"s3:prefix": "base/data/channels/"}),
        ("s3:ListBucket", B, {"s3:prefix": "base/research/"}),
        ("s3:PutObject", f"{B}/base/exports/events/2026/12/02/x.gz", {}),
        ("s3:AbortMultipartUpload", f"{B}/base/exports/events/k", {}),
        ("s3:PutObject", f"{B}/base/_staging/users/2026-12-02/f.parquet", {}),
        ("s3:DeleteObject", f"{B}/base/_staging/users/2026-12-02/f.parquet", {}),
        ("sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:123456789012:lake-events", {}),
    ]
    denied = [
        ("s3:GetObject", f"{B}/base/data/secret.json", {}),  # outside the selected prefixes
        ("s3:GetObject", f"{B}/base/data/channels/x/y.csv", {}),  # outside the pattern
        ("s3:GetObject", f"{B}/base/crm/other.csv", {}),
        ("s3:ListBucket", B, {"s3:prefix": "base/"}),  # a prefix above the selection
        ("s3:ListBucket", B, {"s3:prefix": "base/data/"}),
        ("s3:ListBucket", B, {"s3:prefix": "base/crm/"}),  # objects are read by key, never listed
        ("s3:ListBucket", B, {}),  # the whole bucket
        ("s3:PutObject", f"{B}/base/data/users/x.jsonl", {}),  # writes only to destination and staging
        ("s3:PutObject", f"{B}/base/exports/other/x.gz", {}),
        ("s3:DeleteObject", f"{B}/base/exports/events/x.gz", {}),  # destinations are create-only
        ("s3:DeleteObject", f"{B}/base/data/users/x.jsonl", {}),
        ("s3:PutBucketPolicy", B, {}),
        ("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:lake-events", {}),
        ("sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:123456789012:other", {}),
    ]
    assert [r for r in ok if evaluate(pol, Request(*r)) != "Allow"] == []
    assert [r for r in denied if evaluate(pol, Request(*r)) == "Allow"] == []
    assert allowed(pol, "s3:ListBucket", B, s3__prefix="base/data/teams/2026/")


def test_parliament_finds_nothing(cfg):
    """Every identity policy (the connection's, and the caller's of an iam_role connection), with
    parliament's own auditors and its community auditors. parliament lints identity policies only;
    the trust policy is checked above. The one community finding on the caller's policy is the
    nature of sts:AssumeRole (it hands out credentials), which an iam_role connection is made of."""
    for p in policies(cfg):
        found = analyze_policy_string(json.dumps(p.policy), include_community_auditors=True)
        assert [(f.issue, f.detail, f.location) for f in found.findings] == []
        if p.caller_policy:
            assert analyze_policy_string(json.dumps(p.caller_policy)).findings == []
            community = analyze_policy_string(json.dumps(p.caller_policy), include_community_auditors=True)
            assert [f.issue for f in community.findings] == ["CREDENTIALS_EXPOSURE"]


def test_policy_command_json_and_terraform(cfg, capsys, monkeypatch):
    monkeypatch.setenv("EXT_ID", "the-external-id-value")
    assert cli.main(["policy", "--connection", "assumed", "--config", str(cfg.source_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["assumed"] and set(out["assumed"]) == {"connection", "bucket", "policy", "trustPolicy",
                                                                 "callerPolicy", "uses"}
    assert cli.main(["policy", "--format", "terraform", "--config", str(cfg.source_path)]) == 0
    tf = capsys.readouterr().out
    assert 'data "aws_iam_policy_document" "s3_pipelines_lake"' in tf
    assert 'variable = "s3:prefix"' in tf and '"base/data/users/*"' in tf
    assert 'data "aws_iam_policy_document" "s3_pipelines_assumed_trust"' in tf
    assert 'variable = "sts:ExternalId"' in tf and "${var.s3_pipelines_assumed_external_id}" in tf
    assert "the-external-id-value" not in tf and "the-external-id-value" not in json.dumps(out)
    assert cli.main(["policy", "--connection", "catalog", "--config", str(cfg.source_path)]) == 2
    assert "no s3 connection named 'catalog'" in capsys.readouterr().err
    assert render(policies(cfg, "lake"), "json").startswith("{")
