"""Two runs of one partition at once — one requested by the stream's sensor (a real tick: objects
discovered first, the run tagged as discovered), one launched by hand (it lists S3 itself and retries failed
objects) — in two processes sharing the ledger, the Dagster instance and the DuckDB catalog. The
ledger's transactional claims must make each object load once: every record is staged once, made
into one entity with one audit row, and written to the table once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

from s3_pipelines.config import load_config
from s3_pipelines.ledger import Ledger

from . import crash_run
from .conftest import dagster_home, today

N_OBJECTS = 80

WAIT_THEN = """
import os, sys, time
go = sys.argv[1]
from s3_pipelines.config import load_config
from s3_pipelines.dagster_defs import build_definitions
{prepare}
open(go + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
{run}
"""
MANUAL = WAIT_THEN.format(
    prepare="import dagster as dg\njob = build_definitions(load_config(os.environ['S3_PIPELINES_CONFIG']))"
            ".resolve_job_def('events_job')",
    run="r = job.execute_in_process(partition_key=sys.argv[2], instance=dg.DagsterInstance.get(), raise_on_error=False)\n"
        "print('RUN', r.run_id, r.success)\nsys.exit(0 if r.success else 1)",
)
SENSOR = WAIT_THEN.format(  # a sensor tick (the daemon's path), then the run it requests
    prepare="import dagster as dg\ndefs = build_definitions(load_config(os.environ['S3_PIPELINES_CONFIG']))\n"
            "sensor, job = defs.resolve_sensor_def('events_sensor'), defs.resolve_job_def('events_job')\n"
            "instance = dg.DagsterInstance.get()",
    run="with dg.build_sensor_context(instance=instance, resources=defs.resources, definitions=defs) as ctx:\n"
        "    (req,) = sensor.evaluate_tick(ctx).run_requests\n"
        "r = job.execute_in_process(partition_key=req.partition_key, tags=req.tags, instance=instance,"
        " raise_on_error=False)\nprint('RUN', r.run_id, r.success)\nsys.exit(0 if r.success else 1)",
)


def test_sensor_run_and_manual_run_of_one_partition_load_each_object_once(tmp_path, moto_server, new_bucket):
    conn = new_bucket(moto_server)
    config = crash_run.write_config(tmp_path, moto_server.endpoint_url, conn.bucket)
    crash_run.put_objects(moto_server.endpoint_url, conn.bucket, range(N_OBJECTS))
    home = dagster_home(tmp_path)
    # an instance already in use (as in any deployment): two processes creating its SQLite storage
    # at the same moment is a Dagster race ("table jobs already exists"), not what this test is about
    subprocess.run([sys.executable, "-c", "import dagster; dagster.DagsterInstance.get().get_runs(limit=1)"],
                   env={**os.environ, "DAGSTER_HOME": str(home)}, check=True, timeout=120)
    env = {**os.environ, crash_run.KEY_ENV: "AKIACONCURRENT0001", crash_run.SECRET_ENV: "s",
           "DAGSTER_HOME": str(home), "S3_PIPELINES_CONFIG": str(config)}
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go), today()], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for code in (MANUAL, SENSOR)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < 2 and time.monotonic() < deadline:  # both imported and built
        time.sleep(0.05)
    go.touch()
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]

    assert crash_run.verify(config, N_OBJECTS) == []
    rows = Ledger(load_config(config).ledger_path()).rows(crash_run.STREAM)
    assert len(rows) == N_OBJECTS and {r.status for r in rows} == {"loaded"}
    # which run loaded what (both usually take a share; either way nothing twice)
    by_run = Counter(r.run_id for r in rows)
    print(f"objects loaded per run: {dict(by_run)}")
