"""Beyond one machine, proved on this one: a PostgreSQL-backed Dagster instance (deploy/dagster.yaml
as shipped), two Celery step workers on the local RabbitMQ (`celery -A
s3_pipelines.dagster_defs.celery_app worker`), a stream of 40 objects over 4 partitions with its
jq mapping and table, staging on the local S3 server, catalog and state in PostgreSQL. One worker is
SIGKILLed while it executes a step; its task is delivered again to the other worker under the same
run. At the end every record is in the catalog and the table exactly once, and the working folder,
DAGSTER_HOME (but dagster.yaml) and the workers' temporary folders hold nothing.

Needs S3_PIPELINES_TEST_PG_URL and a broker (S3_PIPELINES_TEST_BROKER_URL, default the local
RabbitMQ, pyamqp://guest:guest@127.0.0.1:5672//); skips saying which is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from s3_pipelines.connections import S3Client
from s3_pipelines.ledger import Ledger
from s3_pipelines.selection import iter_selected
from s3_pipelines.config.models import Select
from s3_pipelines_tests.reliability_tests.crash_run import (
    BLUEPRINT, MAPPING, RECORDS_PER_OBJECT, STREAM, TABLE, object_body, object_key,
)
from s3_pipelines_tests.state_fixtures import drop_schema

REPO = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("S3_PIPELINES_TEST_BROKER_URL", "pyamqp://guest:guest@127.0.0.1:5672//")
OBJECTS = 40
DAYS = ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]
BIN = Path(sys.executable).parent


def _answers(url: str) -> bool:
    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or {"redis": 6379}.get(u.scheme, 5672)), 2):
            return True
    except OSError:
        return False


@pytest.fixture
def dagster_pg(pg_url):
    """A database of its own for Dagster's run, event and schedule storage, dropped afterwards."""
    import psycopg

    name = f"s3p_dagster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    u = urlsplit(pg_url)
    # dagster-postgres speaks psycopg2; SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3
    yield urlunsplit(("postgresql+psycopg2", u.netloc, "/" + name, u.query, ""))
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _config(work: Path, conn, catalog_schema: str, state_schema: str) -> Path:
    doc = {
        "connections": {
            "lake": {"type": "s3", "bucket": conn.bucket, "endpoint_url": conn.endpoint_url, "region": "us-east-1",
                     "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "LAKE_KEY"},
                              "aws_secret_access_key": {"env": "LAKE_SECRET"}}},
            "catalog": {"type": "postgres", "url": {"env": "CATALOG_PG_URL"}, "schema": catalog_schema},
        },
        "streams": {STREAM: {"connection": "lake", "select": {"prefixes": ["events/"]}, "format": "jsonl",
                             "sensor": False}},
        "blueprints": {BLUEPRINT: {"title": "Event", "properties": {"n": {"type": "number"},
                                                                      "obj": {"type": "number"}}}},
        "mappings": [{"name": MAPPING, "stream": STREAM, "blueprint": BLUEPRINT, "target": "catalog",
                      "entity": {"identifier": ".body.id", "properties": {"n": ".body.n", "obj": ".body.obj"}}}],
        "tables": {TABLE: {"stream": STREAM, "target": "catalog", "ingestion_mode": "append",
                           "create_table_if_not_exists": True,
                           "input_schema": [{"name": "id", "type": "string"}, {"name": "n", "type": "long"},
                                            {"name": "obj", "type": "long"}],
                           "mappings": [{"column": "id", "expression": '"id"'}, {"column": "n", "expression": '"n"'},
                                        {"column": "obj", "expression": '"obj"'}]}},
        "state": {"database": {"env": "S3P_STATE_URL"}, "schema": state_schema,
                  "staging": {"connection": "lake", "prefix": "_staging/"}},
    }
    path = work / "pipelines.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _start(cmd, env, cwd, log: Path) -> subprocess.Popen:
    out = open(log, "wb")
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait_for(pred, timeout: float, what: str, every: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.mark.timeout(900)
def test_celery_workers_on_postgres_survive_a_killed_worker(pg_url, dagster_pg, moto_server, new_bucket, tmp_path,
                                                             monkeypatch):
    pytest.importorskip("dagster_celery", reason="dagster-celery is not installed (the test extra has it)")
    pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (the test extra has it)")
    if BROKER.startswith("redis"):
        pytest.skip("a killed worker's task comes back at once only with RabbitMQ (Redis redelivers after its "
                    "visibility timeout, an hour): set S3_PIPELINES_TEST_BROKER_URL to an amqp:// broker")
    if not _answers(BROKER):
        pytest.skip(f"no Celery broker answers at {re.sub(r'//[^@/]*@', '//', BROKER)} (S3_PIPELINES_TEST_BROKER_URL)")

    hexid = uuid.uuid4().hex[:10]
    catalog_schema, state_schema = f"s3p_cat_{hexid}", f"s3p_state_{hexid}"
    work, home, logs = tmp_path / "work", tmp_path / "dagster_home", tmp_path / "logs"
    temps = {name: tmp_path / f"tmp_{name}" for name in ("w1", "w2", "runs")}
    for d in (work, home, logs, *temps.values()):
        d.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")  # the deployment's file, as shipped

    conn = new_bucket(moto_server)
    client = S3Client.from_config(conn)
    for i in range(OBJECTS):
        client.put_bytes(object_key(i), object_body(i))
    config = _config(work, conn, catalog_schema, state_schema)
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": dagster_pg, "S3_PIPELINES_CONFIG": str(config),
           "S3_PIPELINES_EXECUTOR": "celery", "DAGSTER_CELERY_BROKER_URL": BROKER, "S3P_STATE_URL": pg_url,
           "CATALOG_PG_URL": pg_url, "LAKE_KEY": moto_server.access_key, "LAKE_SECRET": moto_server.secret_key,
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DAGSTER_CELERY_BACKEND_URL", None)
    procs: list[subprocess.Popen] = []
    try:
        # what a sensor tick does: the objects go to the ledger (in PostgreSQL), 10 per partition
        objs = sorted(iter_selected(client, Select(prefixes=["events/"])), key=lambda o: o.key)
        assert len(objs) == OBJECTS
        index = {o.key: i for i, o in enumerate(objs)}
        Ledger(pg_url, schema=state_schema).register(STREAM, objs, lambda o: DAYS[index[o.key] % len(DAYS)])
        # Dagster's tables, made once before the processes share the database
        monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg)
        import dagster as dg

        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        workers = {}
        for name in ("w1", "w2"):
            workers[name] = _start(
                [str(BIN / "celery"), "-A", "s3_pipelines.dagster_defs.celery_app", "worker", "-Q", "dagster",
                 "--pool=prefork", "--concurrency=1", "-n", f"{name}-{hexid}@%h", "--without-gossip", "--without-mingle",
                 "--loglevel=INFO"],
                {**env, "TMPDIR": str(temps[name])}, work, logs / f"{name}.log")
            procs.append(workers[name])
        for name in workers:
            _wait_for(lambda: "ready." in (logs / f"{name}.log").read_text(errors="replace"), 90, f"worker {name} ready")

        runs = []
        for day in DAYS:
            runs.append(_start(
                [str(BIN / "dagster"), "job", "execute", "-m", "s3_pipelines.definitions", "-j", f"{STREAM}_job",
                 "--tags", json.dumps({"dagster/partition": day, "s3_pipelines/discovered": "1"})],
                {**env, "TMPDIR": str(temps["runs"])}, work, logs / f"run-{day}.log"))
            procs.append(runs[-1])

        # SIGKILL w1 (the worker and its pool process) while it executes a step
        def in_flight():
            if all(r.poll() is not None for r in runs):
                pytest.fail("the runs ended before w1 took a step:\n" + (logs / f"run-{DAYS[0]}.log").read_text()[-3000:])
            text = (logs / "w1.log").read_text(errors="replace")
            received = set(re.findall(r"Task execute_plan\[([0-9a-f-]+)\] received", text))
            done = set(re.findall(r"Task execute_plan\[([0-9a-f-]+)\] (?:succeeded|raised)", text))
            return received - done
        held = _wait_for(in_flight, 240, "worker w1 to take a step")
        time.sleep(0.5)  # into the step: loading the code location, claiming, reading
        held = in_flight() or held
        _kill_group(workers["w1"])
        workers["w1"].wait(30)
        assert held, "w1 held no task when it was killed"

        for proc, day in zip(runs, DAYS):
            try:
                proc.wait(600)
            except subprocess.TimeoutExpired:
                pytest.fail(f"run of {day} did not finish:\n" + (logs / f"run-{day}.log").read_text()[-3000:])
            assert proc.returncode == 0, (logs / f"run-{day}.log").read_text()[-3000:]
        w2_log = (logs / "w2.log").read_text(errors="replace")
        assert any(t in w2_log for t in held), "the killed worker's task was not delivered again to w2"
        _kill_group(workers["w2"], signal.SIGTERM)
        workers["w2"].wait(60)
    finally:
        for p in procs:
            if p.poll() is None:
                _kill_group(p)
                p.wait(30)

    try:
        # Dagster: four successful runs in PostgreSQL
        with dg.DagsterInstance.from_config(str(home)) as instance:
            statuses = Counter(r.status for r in instance.get_runs())
        assert statuses == Counter({dg.DagsterRunStatus.SUCCESS: len(DAYS)}), statuses

        # the ledger: every object loaded once, with its records
        rows = Ledger(pg_url, schema=state_schema).rows(STREAM)
        assert Counter(r.status for r in rows) == Counter({"loaded": OBJECTS})
        assert {r.obj.key for r in rows} == {object_key(i) for i in range(OBJECTS)}
        assert all(r.rows == RECORDS_PER_OBJECT and r.staged[0].startswith("s3://") for r in rows)

        # catalog and table: every record exactly once
        from s3_pipelines.catalog import audit_rows, export_entities
        from s3_pipelines.config import load_config
        from s3_pipelines.targets import open_target

        monkeypatch.setenv("CATALOG_PG_URL", pg_url)
        target = open_target(load_config(config), "catalog")
        expected = {f"e{i:05d}-{j}" for i in range(OBJECTS) for j in range(RECORDS_PER_OBJECT)}
        entities = {e["identifier"]: e["properties"] for e in export_entities(target, BLUEPRINT)}
        assert set(entities) == expected
        assert all(p["n"] == int(i[1:6]) * RECORDS_PER_OBJECT + int(i.split("-")[1]) for i, p in entities.items())
        audit = audit_rows(target, mapping=MAPPING)
        assert Counter((a["status"], a["action"]) for a in audit) == Counter({("SUCCESS", "CREATE"): len(expected)})
        with target.transaction() as tx:
            ids = Counter(tx.query_arrow(f'SELECT id FROM "{TABLE}"').column("id").to_pylist())
        assert set(ids) == expected and max(ids.values()) == 1

        # nothing of the project on any local disk
        assert sorted(p.name for p in work.iterdir()) == ["pipelines.yaml"]
        assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"], sorted(str(p) for p in home.rglob("*"))
        for name, folder in temps.items():
            # a killed Celery worker leaves its pool's empty multiprocessing folder (pymp-*): Python's, not ours
            left = [p for p in folder.rglob("*") if not (p.is_dir() and p.name.startswith("pymp-"))]
            assert not left, f"{name}'s temp folder holds {sorted(map(str, left))}"
    finally:
        drop_schema(pg_url, catalog_schema)
        drop_schema(pg_url, state_schema)
