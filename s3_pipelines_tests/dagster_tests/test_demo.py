import os
import re
import subprocess
import sys


def test_demo_loads_every_stream_and_stops_its_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "S3_PIPELINES_CONFIG")}
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "demo", "--workdir", str(tmp_path / "demo")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    table = {m[0]: m[1:] for m in re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(ok|FAILED)$", r.stdout, re.M)}
    # what demo/sample_data.py makes: 120 users, 40 channels, 350 orders (+1 ragged row), 800 events
    assert table == {
        "slack_users": ("2", "120", "0", "ok"),
        "slack_channels": ("2", "40", "0", "ok"),
        "orders": ("2", "350", "1", "ok"),
        "events": ("2", "800", "0", "ok"),
    }
    pid = int(re.search(r"pid (\d+)", r.stdout).group(1))
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert "demo-secret-not-real" not in r.stdout + r.stderr

    # entities: users not deleted (i % 23), less the one malformed email; channels not archived (i % 9)
    counts = dict(re.findall(r"^  (slack_\w+)\s+(\d+)$", r.stdout, re.M))
    assert counts == {"slack_user": str(120 - 6 - 1), "slack_channel": str(40 - 5)}
    assert "1 audit failure(s)" in r.stdout and "'U0000042': property email" in r.stdout
    # the rollup table, checked against a group-by of the sample Parquet objects computed here
    import io

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from s3_pipelines.demo.sample_data import demo_objects

    objs = demo_objects()
    events = pa.concat_tables(pq.read_table(io.BytesIO(objs[k])) for k in sorted(objs) if k.startswith("warehouse/"))
    want = duckdb.sql('SELECT date_trunc(\'hour\', "at") h, kind, sum(value) s, max(value) m, count(*) n FROM events'
                      " GROUP BY ALL ORDER BY h, kind").fetchall()
    con = duckdb.connect(str(tmp_path / "demo" / ".s3_pipelines" / "catalog.duckdb"), read_only=True)
    got = con.execute('SELECT "__time", kind, total_value, max_value, "__count" FROM events_hourly'
                      ' ORDER BY "__time", kind').fetchall()
    assert len(got) == len(want) and re.search(rf"^  events_hourly\s+{len(want)} row\(s\)", r.stdout, re.M)
    for (h, k, s, m, n), (gh, gk, gs, gm, gn) in zip(want, got):
        assert (gh, gk, gn) == (h, k, n) and abs(gs - s) < 1e-6 and gm == m
