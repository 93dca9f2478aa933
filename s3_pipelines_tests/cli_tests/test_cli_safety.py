"""The command line as a new user meets it (issue 14): what it refuses to delete, what `validate`
says, how it ends when a pipe closes, its help and version, and what read-only commands leave."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from s3_pipelines.cli import build_parser
from s3_pipelines.demo.run import MARKER, claim_workdir


def cli(*args, cwd=None, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s3_pipelines.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=120, **kw)


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.txt").write_text("keep me")
    r = cli("demo", "--workdir", str(victim), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "not made by `s3-pipelines demo`" in r.stderr and "Traceback" not in r.stderr
    assert (victim / "important.txt").read_text() == "keep me"
    assert sorted(p.name for p in victim.iterdir()) == ["important.txt"]
    # the current folder, the usual accident, is refused the same way
    r = cli("demo", "--workdir", ".", cwd=victim)
    assert r.returncode == 2 and (victim / "important.txt").exists()


def test_demo_clears_only_a_folder_an_earlier_demo_made(tmp_path):
    new = tmp_path / "new"
    claim_workdir(new)  # a new folder is made and marked
    assert (new / MARKER).is_file()
    (new / "stale.duckdb").write_text("x")
    (new / "sub").mkdir()
    claim_workdir(new)  # made by a demo: cleared
    assert sorted(p.name for p in new.iterdir()) == [MARKER]
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_workdir(empty)  # an empty folder is taken
    assert (empty / MARKER).is_file()


GOOD = """\
connections:
  lake:
    type: s3
    bucket: bkt
    auth:
      mode: access_key_and_secret
      aws_access_key_id: {env: S3P_TEST_UNSET_KEY_ID}
      aws_secret_access_key: {env: S3P_TEST_UNSET_SECRET}
  catalog: {type: duckdb, path: state/catalog.duckdb}
streams:
  koalas:
    connection: lake
    select: {prefixes: [k/]}
    format: jsonl
"""


def test_validate_checks_env_references_unless_no_env(tmp_path):
    (tmp_path / "pipelines.yaml").write_text(GOOD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3P_TEST_UNSET")}
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "validate"], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 2, r.stdout
    assert ("line 7: connections.lake.auth.aws_access_key_id: environment variable S3P_TEST_UNSET_KEY_ID "
            "is not set") in r.stderr
    assert "line 8: connections.lake.auth.aws_secret_access_key: environment variable S3P_TEST_UNSET_SECRET" in r.stderr
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "validate", "--no-env"], capture_output=True,
                       text=True, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_validate_lists_problems_by_line_and_suggests_spellings(tmp_path):
    text = GOOD.replace("    format: jsonl\n", "    format: jsonl\n    compresion: gzip\n    on_eror: fail\n")
    # a reference problem (found after parsing) above a field problem: the output is in file order
    text = text.replace("  koalas:\n    connection: lake", "  koalas:\n    connection: nope")
    (tmp_path / "pipelines.yaml").write_text(text)
    r = cli("validate", "--no-env", cwd=tmp_path)
    assert r.returncode == 2
    problems = [line.strip() for line in r.stderr.splitlines()[1:]]
    lines = [int(re.match(r"line (\d+):", p).group(1)) for p in problems]
    assert lines == sorted(lines), problems
    assert any("streams.koalas.compresion: unknown field (did you mean `compression`?)" in p for p in problems)
    assert any("streams.koalas.on_eror: unknown field (did you mean `on_error`?)" in p for p in problems)


def test_seed_names_with_hyphens_and_capitals_validate(tmp_path):
    (tmp_path / "pipelines.yaml").write_text(GOOD.replace("  lake:", "  demo-conn:").replace("connection: lake", "connection: demo-conn")
                                             .replace("  koalas:", "  Koalas-2024:"))
    r = cli("validate", "--no-env", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_closed_pipe_ends_quietly(tmp_path):
    # `s3-pipelines schema | head -1`: the reader goes away before the writer is done
    proc = subprocess.Popen([sys.executable, "-m", "s3_pipelines.cli", "schema"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode in (0, 141)


def test_help_version_and_no_ignored_options():
    r = cli("--version")
    assert r.returncode == 0 and re.match(r"s3-pipelines \d+\.\d+", r.stdout)
    top = cli("--help").stdout
    assert "Self-hosted S3 ingestion on Dagster, declared in one YAML file." in top
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name in ("schema", "demo"):  # they read no pipelines file: no --config to be ignored
        assert "--config" not in sub[name].format_help()
        assert cli(name, "--config", "x.yaml").returncode == 2
    for name, option in (("test-mapping", "--mapping"), ("infer", "--stream"), ("partitions", "--stream")):
        action = next(a for a in sub[name]._actions if option in a.option_strings)
        assert action.help, (name, option)
    catalog = next(a for a in sub["catalog"]._actions if a.dest == "catalog_command").choices
    assert next(a for a in catalog["export"]._actions if "--blueprint" in a.option_strings).help


def test_read_only_commands_create_no_state(tmp_path):
    (tmp_path / "pipelines.yaml").write_text(GOOD + """\
blueprints:
  user: {title: User, properties: {name: {type: string}}}
mappings:
  - {name: users, stream: koalas, blueprint: user, entity: {identifier: .body.id}}
""")
    for args in (("validate", "--no-env"), ("catalog", "export", "--blueprint", "user"), ("catalog", "audit"),
                 ("partitions",), ("catalog", "export", "--blueprint", "user", "--format", "json")):
        r = cli(*args, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["pipelines.yaml"]


def test_json_for_scripts(tmp_path):
    import json

    (tmp_path / "pipelines.yaml").write_text(GOOD)
    r = cli("validate", "--no-env", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True and json.loads(r.stdout)["streams"] == ["koalas"]
    (tmp_path / "bad.yaml").write_text(GOOD.replace("format: jsonl", "format: jsonl\n    compresion: gzip"))
    r = cli("validate", "--no-env", "--format", "json", "--config", "bad.yaml", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert r.returncode == 2 and doc["ok"] is False and "did you mean `compression`?" in doc["problems"][0]
    r = cli("partitions", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout) == {"koalas": []}
