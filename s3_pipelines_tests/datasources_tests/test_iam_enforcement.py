"""Proof that `s3-pipelines policy` is enough and no more.

A moto server of our own with IAM enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`: the setup requests
are the only unchecked ones) holds the demo's objects. An IAM user gets exactly the generated
policy of connection `lake` and nothing else; the demo's pipelines (streams, a stream selecting a
data source, Port mappings into DuckDB, a Polaris table, staging on S3) run through Dagster with
that user's keys: everything loads. The same user is refused a GET outside the selected prefixes
and a PUT outside the staging prefix. moto ignores the `s3:prefix` condition of `s3:ListBucket`,
so every request moto logged for the run is replayed through iam_eval, which honours it: all of
the run's requests are allowed, and a ListBucket of another prefix (which moto let through) is not.
The demo gets a destination too (the orders as gzipped JSON Lines under exports/archive/).
A second user, who may not list the bucket, cannot create a data source (reachability check).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import boto3
import duckdb
import pytest
from botocore.exceptions import ClientError

from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs.runner import print_summary, run_pending
from s3_pipelines.datasources import DataSourceError, Registry, create, default_client_for, observe, sync_config
from s3_pipelines.demo.run import TEMPLATE
from s3_pipelines.demo.sample_data import demo_objects
from s3_pipelines.local_s3 import free_port, stop_process, wait_until_answers
from s3_pipelines.policy import policies

from .iam_eval import Request, evaluate, requests_in_log

BUCKET = "demo-lake"
OUTSIDE = {"private/salaries.csv": b"name,salary\nann,1\n"}
ADMIN = {"aws_access_key_id": "AKIAADMINSETUP000001", "aws_secret_access_key": "setup-secret"}


def _config(root, endpoint: str) -> str:
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()  # as the demo fills in its partitions' start
    text = TEMPLATE.read_text().replace("{endpoint_url}", endpoint).replace("{start}", today)
    text = text.replace("S3_PIPELINES_DEMO_KEY_ID", "IAM_TEST_KEY").replace("S3_PIPELINES_DEMO_SECRET", "IAM_TEST_SECRET")
    # the events stream selects a registered data source instead of its raw prefix
    text = text.replace('select: {prefixes: ["warehouse/events/"]}', "select: {datasource: warehouse}")
    assert "datasource: warehouse" in text
    text += textwrap.dedent("""
        datasources:
          warehouse: {connection: lake, prefix: warehouse/events/}
        destinations:
          archive:
            connection: lake
            prefix: exports/archive/
            from: {stream: orders}
        state:
          staging: {connection: lake, prefix: _staging/}
        """)
    path = root / "pipelines.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def enforced(tmp_path_factory):
    root = tmp_path_factory.mktemp("iam")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cfg_path = _config(root, endpoint)
    cfg = load_config(cfg_path)
    policy = policies(cfg, "lake")[0].policy
    no_list = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}]}
    objects = {**demo_objects(), **OUTSIDE}

    setup = [lambda s3, iam: s3.create_bucket(Bucket=BUCKET)]
    setup += [lambda s3, iam, k=k, b=b: s3.put_object(Bucket=BUCKET, Key=k, Body=b) for k, b in objects.items()]
    keys = {}
    for user, doc in (("ingest", policy), ("nolist", no_list)):
        setup += [lambda s3, iam, u=user: iam.create_user(UserName=u),
                  lambda s3, iam, u=user, d=doc: iam.put_user_policy(UserName=u, PolicyName="s3-pipelines",
                                                                    PolicyDocument=json.dumps(d)),
                  lambda s3, iam, u=user: keys.__setitem__(u, iam.create_access_key(UserName=u)["AccessKey"])]

    log_path = root / "moto.log"
    log = open(log_path, "wb")
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(len(setup))}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    try:
        wait_until_answers(endpoint + "/moto-api/", proc)
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", **ADMIN)
        s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
        for step in setup:
            step(s3, iam)
        log.flush()
        setup_end = log_path.stat().st_size
        yield {"root": root, "cfg_path": cfg_path, "endpoint": endpoint, "policy": policy, "keys": keys,
               "admin_s3": s3, "log_path": log_path, "setup_end": setup_end}
    finally:
        stop_process(proc)
        log.close()


def _s3(enforced, user: str):
    k = enforced["keys"][user]
    return boto3.client("s3", endpoint_url=enforced["endpoint"], region_name="us-east-1",
                        aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])


def _denied(call) -> bool:
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"] in ("AccessDenied", "403")
    return False


def test_the_generated_policy_runs_the_demo_and_allows_nothing_else(enforced, monkeypatch):
    key = enforced["keys"]["ingest"]
    monkeypatch.setenv("IAM_TEST_KEY", key["AccessKeyId"])
    monkeypatch.setenv("IAM_TEST_SECRET", key["SecretAccessKey"])
    monkeypatch.setenv("DAGSTER_HOME", str(enforced["root"] / "dagster_home"))
    (enforced["root"] / "dagster_home").mkdir(exist_ok=True)

    # enforcement is on: the setup keys are refused now
    with pytest.raises(ClientError):
        enforced["admin_s3"].head_object(Bucket=BUCKET, Key="private/salaries.csv")

    cfg = load_config(enforced["cfg_path"])
    outcomes = run_pending(cfg)
    assert print_summary(outcomes), [o.errors for o in outcomes]
    loaded = {o.stream: o.objects for o in outcomes}
    assert loaded == {"slack_users": 2, "slack_channels": 2, "orders": 2, "events": 2}
    assert all(o.rows > 0 for o in outcomes)
    with duckdb.connect(str(cfg.resolve(".s3_pipelines/catalog.duckdb")), read_only=True) as db:
        tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert any("events_hourly" in t for t in tables), tables

    # the data source is observed with the same keys (a list of its prefix)
    reg = Registry.open(cfg)
    sync_config(cfg, reg)
    ds = observe(cfg, reg, reg.get("warehouse"), default_client_for(cfg))
    assert (ds.object_count, ds.observe_error) == (2, None)

    user = _s3(enforced, "ingest")
    # a GET outside the selected prefixes, a PUT outside staging: refused by moto
    assert _denied(lambda: user.get_object(Bucket=BUCKET, Key="private/salaries.csv"))
    assert _denied(lambda: user.put_object(Bucket=BUCKET, Key="exports/orders/injected.csv", Body=b"x"))
    assert _denied(lambda: user.put_object(Bucket=BUCKET, Key="private/x", Body=b"x"))
    assert _denied(lambda: user.delete_object(Bucket=BUCKET, Key="exports/orders/orders_2026-11-20.csv"))
    assert not _denied(lambda: user.put_object(Bucket=BUCKET, Key="_staging/probe", Body=b"x"))
    assert not _denied(lambda: user.put_object(Bucket=BUCKET, Key="exports/archive/probe", Body=b"x"))
    # a list of another prefix: moto lets it through (it ignores s3:prefix) ...
    other_list = user.list_objects_v2(Bucket=BUCKET, Prefix="private/")
    assert other_list["KeyCount"] == 1

    # ... so every request moto logged after the setup is judged by an evaluator that honours it
    log = enforced["log_path"].read_text(errors="replace")[enforced["setup_end"]:]
    seen = requests_in_log(log)
    policy = enforced["policy"]
    run_requests = [(r, status) for r, status in seen if status < 400]
    lists = [r for r, _ in run_requests if r.action == "s3:ListBucket"]
    assert {r.context.get("s3:prefix") for r in lists} >= {
        "data/wSLvwtI1LFwQzXXX/users/", "data/wSLvwtI1LFwQzXXX/channels/", "exports/orders/", "warehouse/events/"}
    # records were staged on S3 under the staging prefix; the destination wrote its objects
    for prefix in ("_staging/", "exports/archive/"):
        assert any(r.action == "s3:PutObject" and r.resource.startswith(f"arn:aws:s3:::{BUCKET}/{prefix}")
                   for r, _ in run_requests), prefix
    assert any(r.action == "s3:ListBucketMultipartUploads" for r, _ in run_requests)
    judged = {(r.action, r.resource, json.dumps(r.context)): evaluate(policy, r) for r, _ in run_requests}
    wrong = {k: v for k, v in judged.items() if v != "Allow"}
    # moto allowed exactly one request the policy does not: the list of private/
    assert wrong == {("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", json.dumps({"s3:prefix": "private/"})): "ImplicitDeny"}
    refused = [r for r, status in seen if status == 403]
    assert refused and all(evaluate(policy, r) != "Allow" for r in refused)
    assert evaluate(policy, Request("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {})) == "ImplicitDeny"


def test_create_refuses_a_prefix_the_credentials_cannot_list(enforced, monkeypatch):
    key = enforced["keys"]["nolist"]
    monkeypatch.setenv("IAM_TEST_KEY", key["AccessKeyId"])
    monkeypatch.setenv("IAM_TEST_SECRET", key["SecretAccessKey"])
    cfg = load_config(enforced["cfg_path"])
    with pytest.raises(DataSourceError, match=r"prefix s3://demo-lake/exports/orders/ is not reachable with "
                                              r"connection 'lake': .*(denied|Denied|403)"):
        create(cfg, "orders", "lake", "exports/orders/", user="tester")
    assert Registry.open(cfg).get("orders") is None
    # the same user can read an object (GetObject) but not list: it is the list that decides
    _s3(enforced, "nolist").get_object(Bucket=BUCKET, Key="exports/orders/orders_2026-11-20.csv")
