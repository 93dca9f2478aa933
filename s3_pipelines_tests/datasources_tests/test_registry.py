"""`s3-pipelines datasources create|list|get|delete|audit` on a moto bucket: Immuta's fields, the
reachability and overlap checks, soft then hard delete, the audit table, and `validate` naming
the streams of a removed data source."""

from __future__ import annotations

import getpass

import pytest

from s3_pipelines.config import load_config
from s3_pipelines.datasources import Registry

from s3_pipelines_tests.state_fixtures import state_db  # noqa: F401 (fixture)

from .conftest import write_config

CREATE = ("datasources", "create", "--connection", "lake")


def test_create_get_list_search_with_immuta_fields_and_stats(project, capsys):
    d = project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/", "--format", "json")
    assert {k: d[k] for k in ("dataSourceName", "prefix", "disabled", "connection")} == {
        "dataSourceName": "research", "prefix": "research/", "disabled": False, "connection": "lake"}
    assert isinstance(d["dataSourceId"], int)
    assert d["uri"] == f"s3://{project.bucket}/research/"
    assert (d["objectCount"], d["bytes"], d["statsComplete"]) == (2, 40, True)
    assert d["newestObjectAt"] and d["createdAt"] and d["disabledAt"] is None and d["createdBy"] == getpass.getuser()

    assert project.cli(capsys, "datasources", "get", "research", "--format", "json") == d
    # a connection with a prefix: the data source's prefix is relative to it
    o = project.cli(capsys, "datasources", "create", "--connection", "other", "--name", "Inner-1", "--prefix", "inner/",
                    "--format", "json")
    assert o["uri"] == f"s3://{project.bucket}/other/inner/" and o["objectCount"] == 1
    assert o["dataSourceId"] > d["dataSourceId"]

    names = [x["dataSourceName"] for x in project.cli(capsys, "datasources", "list", "--format", "json")]
    assert names == ["Inner-1", "research"]
    # search by name or prefix, any case
    assert [x["dataSourceName"] for x in project.cli(capsys, "datasources", "list", "--search", "INNER",
                                                       "--format", "json")] == ["Inner-1"]
    assert [x["dataSourceName"] for x in project.cli(capsys, "datasources", "list", "--search", "arch/",
                                                       "--format", "json")] == ["research"]
    text = project.cli(capsys, "datasources", "list")
    assert "research" in text and "2 objects" in text
    assert "no data source named 'nope'" in project.cli(capsys, "datasources", "get", "nope", code=2)


def test_duplicate_and_overlapping_prefixes_are_refused_naming_the_clash(project, capsys):
    project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/")
    err = project.cli(capsys, *CREATE, "--name", "research", "--prefix", "sales/", code=2)
    assert "data source 'research' exists (active" in err
    err = project.cli(capsys, *CREATE, "--name", "again", "--prefix", "research/", code=2)
    assert "the same prefix as data source 'research'" in err
    err = project.cli(capsys, *CREATE, "--name", "child", "--prefix", "research/b/", code=2)
    assert "overlapping data source 'research'" in err
    err = project.cli(capsys, *CREATE, "--name", "parent", "--prefix", "res", code=2)
    assert "overlapping data source 'research' (prefix 'research/')" in err
    # not overlapping: a sibling, and the same key prefix seen through another connection
    project.cli(capsys, *CREATE, "--name", "sales", "--prefix", "sales/")
    project.cli(capsys, "datasources", "create", "--connection", "other", "--name", "o", "--prefix", "research/")
    # a disabled data source no longer blocks its prefix, but still holds its name
    project.cli(capsys, "datasources", "delete", "research")
    project.cli(capsys, *CREATE, "--name", "child", "--prefix", "research/b/")
    assert "exists (disabled" in project.cli(capsys, *CREATE, "--name", "research", "--prefix", "x/", code=2)
    bad = project.cli(capsys, *CREATE, "--name", "bad name", "--prefix", "x/", code=2)
    assert "data source names are" in bad
    assert "no s3 connection named 'catalog'" in project.cli(
        capsys, "datasources", "create", "--connection", "catalog", "--name", "c", "--prefix", "x/", code=2)
    assert "'..'" in project.cli(capsys, *CREATE, "--name", "up", "--prefix", "a/../b/", code=2)


def test_unreachable_prefix_is_refused(project, capsys, moto_server):
    cfg_path = write_config(project.root, moto_server.endpoint_url, "no-such-bucket-ds")
    project.config = cfg_path
    err = project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/", code=2)
    assert "prefix s3://no-such-bucket-ds/research/ is not reachable with connection 'lake'" in err
    assert project.cli(capsys, "datasources", "list", "--include-disabled", "--format", "json") == []


def test_first_delete_disables_second_removes_and_validate_names_the_streams(project, capsys):
    created = project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/", "--format", "json")
    assert "ok (" in project.cli(capsys, "validate")

    first = project.cli(capsys, "datasources", "delete", "research", "--format", "json")
    assert first == {"success": True, "id": created["dataSourceId"], "name": "research", "disabled": True,
                     "deleted": False, "handlerDeleteErrorMessage": None, "streams": ["research_stream"]}
    got = project.cli(capsys, "datasources", "get", "research", "--format", "json")
    assert got["disabled"] is True and got["disabledAt"] and got["disabledBy"] == getpass.getuser()
    assert project.cli(capsys, "datasources", "list", "--format", "json") == []
    assert [d["dataSourceName"] for d in project.cli(capsys, "datasources", "list", "--include-disabled",
                                                      "--format", "json")] == ["research"]
    assert "ok (" in project.cli(capsys, "validate")  # disabled: the stream still resolves (its sensor skips)

    second = project.cli(capsys, "datasources", "delete", "research", "--format", "json")
    assert second["deleted"] is True and second["id"] == created["dataSourceId"]
    assert "no data source named 'research'" in project.cli(capsys, "datasources", "delete", "research", code=2)
    err = project.cli(capsys, "validate", code=2)
    assert "streams.research_stream.select.datasource: no data source named 'research' (deleted " in err
    assert "line " in err  # located in the file

    # ids are never reused; every change is in the audit table with the OS user
    again = project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/", "--format", "json")
    assert again["dataSourceId"] > created["dataSourceId"]
    audit = project.cli(capsys, "datasources", "audit", "--name", "research", "--format", "json")
    assert [(a["action"], a["dataSourceId"]) for a in audit] == [
        ("create", created["dataSourceId"]), ("disable", created["dataSourceId"]),
        ("delete", created["dataSourceId"]), ("create", again["dataSourceId"])]
    assert {a["user"] for a in audit} == {getpass.getuser()} and all(a["at"] for a in audit)
    assert audit[0]["details"] == {"connection": "lake", "origin": "cli", "prefix": "research/"}


def test_file_datasources_are_registered_and_checked(project, capsys, moto_server):
    project.config = write_config(project.root, moto_server.endpoint_url, project.bucket, datasources="""\
        datasources:
          research: {connection: lake, prefix: research/}
          sales: {connection: lake, prefix: sales/}
        streams:
          research_stream:
            connection: lake
            select: {datasource: research}
            format: jsonl
        """)
    assert "ok (" in project.cli(capsys, "validate")
    cfg = load_config(project.config)
    assert cfg.streams["research_stream"].select.listed_prefixes() == ["research/"]
    listed = project.cli(capsys, "datasources", "list", "--format", "json")
    assert [(d["dataSourceName"], d["origin"]) for d in listed] == [("research", "config"), ("sales", "config")]
    # the CLI may not take a name of the file, nor a prefix overlapping one of its data sources
    assert "declared in" in project.cli(capsys, *CREATE, "--name", "sales", "--prefix", "x/", code=2)
    assert "overlapping data source 'sales'" in project.cli(capsys, *CREATE, "--name", "s2", "--prefix", "sales/2026/",
                                                            code=2)
    # soft delete works; the hard delete waits until the file no longer declares it
    project.cli(capsys, "datasources", "delete", "sales")
    assert "remove it there" in project.cli(capsys, "datasources", "delete", "sales", code=2)
    assert Registry.open(cfg).get("sales").disabled


def test_file_problems_overlap_wrong_connection(project, capsys, moto_server):
    project.config = write_config(project.root, moto_server.endpoint_url, project.bucket, datasources="""\
        datasources:
          a: {connection: lake, prefix: research/}
          b: {connection: lake, prefix: research/deep/}
          c: {connection: catalog, prefix: x/}
        streams:
          s:
            connection: other
            select: {datasource: a}
            format: jsonl
        """)
    err = project.cli(capsys, "validate", code=2)
    assert "datasources.b.prefix: 'research/deep/' overlaps data source 'a'" in err
    assert "datasources.c.connection: no s3 connection named 'catalog'" in err
    assert "streams.s.select.datasource: data source 'a' is of connection 'lake', the stream of 'other'" in err


def test_cli_as_a_subprocess(project):
    """The console script itself (one run: the entry point and its exit codes)."""
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "datasources", "create", "--name", "research",
                        "--connection", "lake", "--prefix", "research/", "--config", str(project.config)],
                       capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert r.returncode == 0, r.stderr
    assert "created data source research (id 1)" in r.stdout


def test_registry_tables_beside_the_ledger_on_both_state_databases(state_db):  # noqa: F811
    """The same statements on SQLite and PostgreSQL: insert with checks, ids, disable, remove, audit."""
    from s3_pipelines.datasources import DataSourceError
    from s3_pipelines.ledger import Ledger

    reg = Registry(Ledger(state_db.target, schema=state_db.schema))
    a = reg.insert("a", "lake", "research/", "cli", "alice")
    assert (a.id, a.disabled, a.created_by) == (1, False, "alice")
    with pytest.raises(DataSourceError, match="overlapping data source 'a'"):
        reg.insert("b", "lake", "research/x/", "cli", "bob")
    assert reg.disable(a, "bob").disabled_by == "bob"
    b = reg.insert("b", "lake", "research/x/", "cli", "bob")
    reg.remove(reg.get("a"), "carol")
    assert [d.name for d in reg.search(include_disabled=True)] == ["b"]
    assert reg.insert("a", "lake", "z/", "cli", "dan").id == b.id + 1  # never reused
    assert [(r["action"], r["user"]) for r in reg.audit("a")] == [
        ("create", "alice"), ("disable", "bob"), ("delete", "carol"), ("create", "dan")]
    # a second open migrates nothing and sees the same rows
    assert Registry(Ledger(state_db.target, schema=state_db.schema)).get("b") == b


def test_commands_reading_s3_resolve_a_registered_data_source(project, capsys):
    """`infer` (like `test-mapping --latest`) reads S3 without building the definitions: the stream
    selecting a data source of the CLI still gets its prefix."""
    project.cli(capsys, *CREATE, "--name", "research", "--prefix", "research/")
    out = project.cli(capsys, "infer", "--stream", "research_stream", "--records", "10")
    assert "id" in out and "research_stream" in out
