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
