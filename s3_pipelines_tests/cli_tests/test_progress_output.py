"""Progress and machine-readable output of the long commands (issue 14): `test-mapping`, `infer` and
`catalog export` draw a bar on stderr when it is a terminal (a pseudo-terminal here), print nothing
extra when piped, and keep stdout byte for byte what it is without a terminal; `--format json`
parses and holds its documented keys; `datasources` warnings leave stdout to the JSON."""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import yaml

from s3_pipelines import cli as cli_module
from s3_pipelines.catalog import commands
from s3_pipelines.catalog.commands import without_empty
from s3_pipelines.catalog.export import export_entities
from s3_pipelines.demo.sample_data import jsonl_gz
from s3_pipelines.progress import Progress
from s3_pipelines.targets import open_target
from s3_pipelines_tests.datasources_tests.conftest import project, write_config  # noqa: F401 (fixture)
from s3_pipelines_tests.mapping_tests.conftest import (KEY_ENV, SECRET_ENV, airbyte_key,  # noqa: F401
                                                       catalog_pipeline, user)

ESC = "\x1b["


def _env(p) -> dict:
    env = {**os.environ, **p.env, KEY_ENV: p.server.access_key, SECRET_ENV: p.server.secret_key,
           "TERM": "xterm-256color", "COLUMNS": "160"}
    env.pop("S3P_NO_PROGRESS", None)
    return env


def _cmd(p, *args) -> list[str]:
    return [sys.executable, "-m", "s3_pipelines.cli", *args, "--config", str(p.config)]


def piped(p, *args, env=None) -> subprocess.CompletedProcess:
    """stdout and stderr both pipes: no terminal anywhere."""
    return subprocess.run(_cmd(p, *args), capture_output=True, env=env or _env(p), cwd=p.root, timeout=120)


def on_terminal(p, *args, stdout_file=None, env=None) -> tuple[int, str]:
    """(exit code, what the terminal showed) with stderr, and stdout unless `stdout_file`, on a pty."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    out = open(stdout_file, "wb") if stdout_file else slave
    try:
        proc = subprocess.Popen(_cmd(p, *args), stdin=subprocess.DEVNULL, stdout=out, stderr=slave,
                                env=env or _env(p), cwd=p.root)
    finally:
        os.close(slave)
        if stdout_file:
            out.close()
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=120), shown.decode(errors="replace").replace("\r\n", "\n")


def _users_file(tmp_path, n: int):
    path = tmp_path / "users.jsonl.gz"
    path.write_bytes(jsonl_gz([user(i, email="broken") if i == 7 else user(i) for i in range(n)]))
    return path


def test_test_mapping_bar_on_a_terminal_nothing_extra_when_piped(catalog_pipeline, tmp_path):
    p = catalog_pipeline
    args = ("test-mapping", "--mapping", "users", "--file", str(_users_file(tmp_path, 2500)))
    for fmt in ("text", "json", "jsonl"):
        plain = piped(p, *args, "--format", fmt)
        assert plain.returncode == 1, plain.stderr  # the record with a broken email
        err = plain.stderr.decode()
        assert ESC not in err and "records read" not in err, err  # short work, not a terminal: no progress line
        if fmt == "json":
            doc = json.loads(plain.stdout)
            assert list(doc) == ["mapping", "object", "entities", "records", "filtered_out", "errors"]
            assert (doc["records"], len(doc["entities"]), len(doc["errors"])) == (2500, 2499, 1)
        if fmt == "jsonl":  # stderr carries data here: only JSON lines, no progress text
            lines = [json.loads(line) for line in err.splitlines()]
            assert [list(x) for x in lines] == [["error"], ["summary"]]
            assert lines[1]["summary"]["entities"] == 2499 and len(plain.stdout.splitlines()) == 2499

        # everything on the terminal: the bar's final state, then the whole output
        code, shown = on_terminal(p, *args, "--format", fmt)
        assert code == 1
        assert ESC in shown and "users: records read" in shown and "2500/2500" in shown, shown[-3000:]
        assert "2499 entities" in shown
        assert plain.stdout.decode().replace("\r\n", "\n") in shown  # data written after the bar, whole
        if fmt == "jsonl":
            assert plain.stderr.decode() in shown
        # stdout redirected, the bar on the terminal: stdout byte for byte what it is piped
        out = tmp_path / f"out.{fmt}"
        code, shown = on_terminal(p, *args, "--format", fmt, stdout_file=out)
        assert code == 1 and "users: records read" in shown and "2499 entities" in shown
        assert out.read_bytes() == plain.stdout
    # S3P_NO_PROGRESS turns it off, even on a terminal
    code, shown = on_terminal(p, *args, env={**_env(p), "S3P_NO_PROGRESS": "1"})
    assert "records read" not in shown and "2500 record(s) -> 2499 entities" in shown


def test_infer_bar_and_json(catalog_pipeline):
    p = catalog_pipeline
    p.put(airbyte_key("users", 1_763_629_200), [user(i) for i in range(30)])
    p.put(airbyte_key("users", 1_763_629_800), [user(i) for i in range(30, 50)])
    plain = piped(p, "infer", "--stream", "users")
    assert plain.returncode == 0 and plain.stderr == b"", plain.stderr
    starter = yaml.safe_load(plain.stdout)
    assert plain.stdout.startswith(b"# s3-pipelines infer --stream users: 50 record(s) from 2 object(s)\n")

    doc = json.loads(piped(p, "infer", "--stream", "users", "--format", "json").stdout)
    assert list(doc) == ["stream", "records", "objects", "bad_records", "streams", "blueprints", "mappings"]
    assert (doc["stream"], doc["records"], doc["objects"], doc["bad_records"]) == ("users", 50, 2, [])
    assert {k: doc[k] for k in ("streams", "blueprints", "mappings")} == starter  # the same starter as the YAML

    code, shown = on_terminal(p, "infer", "--stream", "users")
    assert code == 0 and "users: records sampled" in shown and "50/50" in shown and "2 object(s)" in shown, shown
    assert plain.stdout.decode() in shown
    code, shown = on_terminal(p, "infer", "--stream", "users", stdout_file=p.root / "starter.yaml")
    assert code == 0 and "records sampled" in shown and (p.root / "starter.yaml").read_bytes() == plain.stdout


def test_catalog_export_bar_and_unchanged_stdout(catalog_pipeline, monkeypatch, capsys):
    p = catalog_pipeline
    part = p.put(airbyte_key("users", 1_763_629_200), [user(i) for i in range(1, 41)])
    p.run("users", part)
    for fmt in ("json", "text"):
        plain = piped(p, "catalog", "export", "--blueprint", "user", "--format", fmt)
        assert plain.returncode == 0 and plain.stderr == b"", plain.stderr
        if fmt == "json":
            entities = json.loads(plain.stdout)
            assert len(entities) == 40 and set(entities[0]) == {"blueprint", "identifier", "title", "properties",
                                                                "relations"}
        else:
            assert plain.stdout.startswith(b"40 user entities\n  U0001  user1\n")
        code, shown = on_terminal(p, "catalog", "export", "--blueprint", "user", "--format", fmt)
        assert code == 0 and "user: entities written" in shown and "40/40" in shown, shown[-2000:]
        assert plain.stdout.decode() in shown
        out = p.root / f"export.{fmt}"
        code, shown = on_terminal(p, "catalog", "export", "--blueprint", "user", "--format", fmt, stdout_file=out)
        assert code == 0 and "entities written" in shown and out.read_bytes() == plain.stdout

    # written in pieces, the JSON is exactly the one json.dumps of the whole list it replaced
    monkeypatch.setattr(commands, "EXPORT_CHUNK", 3)
    capsys.readouterr()
    assert cli_module.main(["catalog", "export", "--blueprint", "user", "--format", "json",
                            "--config", str(p.config)]) == 0
    cfg = p.load()
    whole = export_entities(open_target(cfg, "catalog"), "user")
    assert capsys.readouterr().out == json.dumps([without_empty(e) for e in whole], indent=2, ensure_ascii=False) + "\n"


def test_plain_progress_says_nothing_for_short_work_and_two_lines_for_long():
    out = io.StringIO()
    with Progress(out=out, tty=False, quiet_for=3600) as progress:
        task = progress.task("m: records read", None)
        for i in range(1000):
            task.update(i * 100, note=f"{i} entities")
        task.done()
    assert out.getvalue() == ""
    with Progress(out=out, tty=False, quiet_for=0) as progress:  # "long" from the start
        task = progress.task("m: records read", None)
        for i in range(1, 1001):
            task.update(i * 100, note=f"{i} entities")
        task.done()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines  # a start and an end line, never one per batch
    assert lines[0] == "  m: records read: 100 so far, 1 entities ..."
    assert lines[1].startswith("  m: records read: 100000 done in ") and lines[1].endswith("; 1000 entities")


def test_format_json_is_documented_on_every_command_that_has_it():
    parser = cli_module.build_parser()
    found = []

    def walk(p, name):
        for action in p._actions:
            if action.option_strings == ["--format"] and "json" in (action.choices or []):
                found.append(name)
                assert action.help and "json" in action.help, f"{name}: --format json says no shape"
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}".strip())

    walk(parser, "")
    for command in ("validate", "run", "partitions", "test-mapping", "infer", "catalog export", "catalog audit",
                    "datasources list", "datasources get", "policy"):
        assert command in found, (command, found)


def test_datasources_warnings_leave_stdout_to_the_json(project, capsys, moto_server):  # noqa: F811
    project.cli(capsys, "datasources", "create", "--connection", "lake", "--name", "research", "--prefix", "research/")
    # the file now declares a data source of the name the CLI created: a warning, on every command
    project.config = write_config(project.root, moto_server.endpoint_url, project.bucket, datasources="""\
        datasources:
          research: {connection: lake, prefix: research/}
        """)
    capsys.readouterr()
    assert cli_module.main(["datasources", "list", "--format", "json", "--config", str(project.config)]) == 0
    out, err = capsys.readouterr()
    assert [d["dataSourceName"] for d in json.loads(out)] == ["research"]
    assert "warning: datasources.research: a data source of that name was created with the CLI" in err
