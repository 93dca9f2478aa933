"""A local moto S3 server in a subprocess, for the `demo` command and for tests.

moto keeps everything in memory and checks no credentials; it also serves STS and SQS on the same
port. It binds 127.0.0.1 only and logs every request to stderr, so that log goes to a file or nowhere.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Poll `url` until any HTTP answer comes back (an error status counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with code {proc.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate by PID (and its own process group), then kill if it does not exit in time."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)  # started with start_new_session: its group id is its pid
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class MotoServer:
    """`with MotoServer() as s3: boto3.client("s3", endpoint_url=s3.endpoint_url, ...)`."""

    def __init__(self, port: int | None = None, log_path: str | Path | None = None, start_timeout: float = 30.0):
        self.port = port
        self.log_path = Path(log_path) if log_path else None
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("MotoServer is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> "MotoServer":
        if self._proc is not None:
            return self
        self.port = self.port or free_port()
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
            start_new_session=True,  # own process group: stopped as a unit, immune to the terminal's ^C
        )
        try:
            wait_until_answers(self.endpoint_url + "/moto-api/", self._proc, self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def reset(self) -> None:
        """Forget all buckets, objects and queues."""
        req = urllib.request.Request(self.endpoint_url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid} at {self.endpoint_url}" if self._proc else "stopped"
        return f"MotoServer({state})"
