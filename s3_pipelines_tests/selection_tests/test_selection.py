"""Glob rules, confinement to the connection, and iter_selected over real servers."""

from __future__ import annotations

import pytest

from s3_pipelines.config.models import S3ConnectionConfig, Select
from s3_pipelines.connections import S3Client
from s3_pipelines.selection import (
    glob_to_regex,
    iter_selected,
    key_of_uri,
    matches,
    resolve_key,
    selection_roots,
    static_prefix,
)


def conn(prefix="base/"):
    return S3ConnectionConfig(type="s3", bucket="acme", prefix=prefix)


@pytest.mark.parametrize(
    "pattern, key, expected",
    [
        ("**.json", "x.json", True),
        ("**.json", "a/b/c.json", True),
        ("**.json", "a/b/c.jsonl", False),
        ("penguins/*.json", "penguins/a.json", True),
        ("penguins/*.json", "penguins/a/b.json", False),
        ("penguins/**/*.json", "penguins/a.json", True),  # ** also spans zero segments
        ("penguins/**/*.json", "penguins/a/b/c.json", True),
        ("penguins/**", "penguins/a/b", True),
        ("penguins/**", "other/a", False),
        ("data/?.csv", "data/1.csv", True),
        ("data/?.csv", "data/12.csv", False),
        ("data/?.csv", "data//.csv", False),  # ? never matches /
        ("a.b/[x].csv", "a.b/[x].csv", True),  # other characters are literal
        ("a.b/[x].csv", "aXb/x.csv", False),
        ("*.csv", "dir/a.csv", False),
    ],
)
def test_glob_rules(pattern, key, expected):
    assert (glob_to_regex(pattern).match(key) is not None) is expected


@pytest.mark.parametrize(
    "pattern, prefix",
    [("penguins/*.json", "penguins/"), ("data/2024-*/**", "data/2024-"), ("**.json", ""), ("a/b.csv", "a/b.csv"), ("a/?", "a/")],
)
def test_static_prefix(pattern, prefix):
    assert static_prefix(pattern) == prefix


def test_selection_roots_are_absolute_and_not_nested():
    c = conn()
    assert selection_roots(c, Select(prefixes=["x/", "x/y/", "z/"])) == ["base/x/", "base/z/"]
    assert selection_roots(c, Select(pattern="logs/2024-*.gz")) == ["base/logs/2024-"]
    assert selection_roots(c, Select(objects=["a.csv", "a.csv", "b.csv"])) == ["base/a.csv", "base/b.csv"]
    assert selection_roots(conn(""), Select(pattern="**.json")) == [""]


def test_keys_cannot_leave_the_connection():
    c = conn()
    with pytest.raises(ValueError, match="leave the connection prefix"):
        resolve_key(c, "x/../../secret")
    with pytest.raises(ValueError, match="bucket 'other'"):
        key_of_uri(c, "s3://other/base/a.csv")
    with pytest.raises(ValueError, match="outside the connection prefix"):
        key_of_uri(c, "s3://acme/elsewhere/a.csv")
    with pytest.raises(ValueError, match="outside the connection prefix"):
        key_of_uri(c, "s3://acme/base/../elsewhere/a.csv")
    assert key_of_uri(c, "s3://acme/base/a.csv") == "base/a.csv"
    # the config model refuses '..' too; a model built around validation is still confined
    with pytest.raises(ValueError):
        Select(objects=["../x"])
    sneaky = Select.model_construct(objects=["../x"], uris=None, prefixes=None, pattern=None)
    with pytest.raises(ValueError):
        selection_roots(c, sneaky)


def test_matches():
    c = conn()
    sel = Select(pattern="penguins/*.json")
    assert matches(c, sel, "base/penguins/a.json")
    assert not matches(c, sel, "penguins/a.json")  # outside the connection prefix
    assert not matches(c, sel, "base/penguins/x/a.json")
    assert matches(c, Select(prefixes=["p/"]), "base/p/q/r.csv")
    assert not matches(c, Select(prefixes=["p/"]), "base/p/")  # a console "folder" marker
    assert matches(c, Select(uris=["s3://acme/base/a.csv"]), "base/a.csv")
    assert not matches(c, Select(objects=["a.csv"]), "base/b.csv")


KEYS = [
    "outside.json", "base/top.json", "base/penguins/a.json", "base/penguins/b.csv",
    "base/penguins/deep/c.json", "base/penguins/", "base/other/d.json",
]


@pytest.fixture
def filled(s3_server, new_bucket):
    c = new_bucket(s3_server, prefix="base/")
    client = S3Client.from_config(c)
    for key in KEYS:
        if key.endswith("/") and s3_server.name == "rclone":
            continue  # rclone stores files: it cannot hold a "folder/" object next to files inside it
        client.put_bytes(key, b"" if key.endswith("/") else b"{}")
    return client


def keys_of(client, select, **kw):
    return sorted(o.key for o in iter_selected(client, select, **kw))


def test_iter_selected_prefixes_and_patterns(filled):
    assert keys_of(filled, Select(prefixes=["penguins/"])) == [
        "base/penguins/a.json", "base/penguins/b.csv", "base/penguins/deep/c.json"
    ]
    assert keys_of(filled, Select(pattern="penguins/*.json")) == ["base/penguins/a.json"]
    assert keys_of(filled, Select(pattern="**.json")) == [
        "base/other/d.json", "base/penguins/a.json", "base/penguins/deep/c.json", "base/top.json"
    ]


def test_iter_selected_explicit_objects_report_missing(filled):
    missing, warned = [], []
    got = keys_of(filled, Select(objects=["top.json", "nope.json"]), missing=missing, on_missing=warned.append)
    bucket = filled.bucket
    assert got == ["base/top.json"]
    assert missing == warned == [f"s3://{bucket}/base/nope.json"]
    uris = [f"s3://{bucket}/base/penguins/a.json", f"s3://{bucket}/base/gone.json"]
    missing = []
    assert keys_of(filled, Select(uris=uris), missing=missing) == ["base/penguins/a.json"]
    assert missing == [uris[1]]
    with pytest.raises(ValueError, match="outside the connection prefix"):
        keys_of(filled, Select(uris=[f"s3://{bucket}/outside.json"]))


def test_iter_selected_paginates(moto_server, new_bucket, put_many):
    client = S3Client.from_config(new_bucket(moto_server))
    keys = [f"many/{i:05d}.csv" for i in range(1005)]
    put_many(client, keys)
    before = client.list_requests
    assert [o.key for o in iter_selected(client, Select(pattern="many/*.csv"))] == keys
    assert client.list_requests - before == 2
