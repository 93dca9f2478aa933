"""The Dagster UI in a real browser: `dagster dev` (webserver + daemon) on free ports over the demo's
config and sample data in a local S3 server, driven by Playwright through the system's Chromium.

Skips, saying why, where Playwright or a Chromium is missing. Screenshots of every step (and of the
failure) go under the test's output folder: `$S3P_UI_ARTIFACTS/<test>/` if set, else pytest's tmp
folder for the test (printed with the failure)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s3_pipelines.dagster_defs.runner import ensure_dagster_home
from s3_pipelines.demo.run import DEMO_ENV, WORKSPACE, prepare
from s3_pipelines.local_s3 import MotoServer, free_port

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _chromium() -> str | None:
    return next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser tests need the PyPI package playwright (pip install -e '.[test]')")
    exe = _chromium()
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=exe, args=BROWSER_ARGS) if exe else pw.chromium.launch()
        except Exception as e:  # no system chromium and no browser downloaded by `playwright install`
            pytest.skip(f"no Chromium to drive (apt-get install chromium): {str(e).splitlines()[0]}")
        yield b
        b.close()


class UI:
    """A demo workdir, its S3 server and `dagster dev` on it."""

    def __init__(self, root: Path, server: MotoServer):
        self.root, self.server = root, server
        self.config = prepare(root, server.endpoint_url)
        text = self.config.read_text()
        # sensors start off (a test turns one on) and tick often
        text = re.sub(r"(\n  (slack_users|slack_channels|orders|events):\n)",
                      r"\1    sensor: false\n    sensor_interval_seconds: 5\n", text)
        self.config.write_text(text)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **DEMO_ENV, "S3_PIPELINES_CONFIG": str(self.config),
                    "DAGSTER_HOME": str(root / "dagster_home")}
        os.environ["DAGSTER_HOME"] = self.env["DAGSTER_HOME"]
        from s3_pipelines.config import load_config

        ensure_dagster_home(load_config(self.config))
        (root / "workspace.yaml").write_text(WORKSPACE)
        self.log = root / "dagster_dev.log"
        self.proc = None
        self._log_file = None

    def start(self, timeout: float = 120) -> None:
        # its own session: stopped by process group (dagster dev ignores signals sent only to it)
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", str(self.root / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(self.port)], cwd=self.root, env=self.env, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Serving dagster-webserver" in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.5)
        raise TimeoutError(f"dagster dev did not serve within {timeout} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            if self._log_file is not None:
                self._log_file.close()

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # the code server may outlive its parent briefly in the same group: make sure the group is gone
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.server.endpoint_url, region_name="us-east-1",
                            aws_access_key_id=DEMO_ENV["S3_PIPELINES_DEMO_KEY_ID"],
                            aws_secret_access_key=DEMO_ENV["S3_PIPELINES_DEMO_SECRET"])


@pytest.fixture(scope="module")
def ui(tmp_path_factory, browser):
    root = tmp_path_factory.mktemp("ui") / "demo"
    with MotoServer(log_path=root.parent / "moto.log") as server:
        env_before = {k: os.environ.get(k) for k in (*DEMO_ENV, "DAGSTER_HOME", "S3_PIPELINES_CONFIG")}
        u = UI(root, server)
        try:
            u.start()
            yield u
        finally:
            u.stop()
            for k, v in env_before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Shots:
    """Numbered screenshots of the steps of one test."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.n = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def page(browser, ui, request, tmp_path):
    folder = Path(os.environ["S3P_UI_ARTIFACTS"]) / request.node.name if os.environ.get("S3P_UI_ARTIFACTS") \
        else tmp_path / "screenshots"
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.shots = Shots(pg, folder)
    yield pg
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        path = pg.shots("failure")
        print(f"\nscreenshots: {folder} (failure: {path}); dagster dev log: {ui.log}")
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def dismiss_community_dialog(page) -> None:
    """"Join the Dagster community" appears once per origin."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=4000)
        skip.click()
    except Exception:
        pass


def copy_artifact(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)
