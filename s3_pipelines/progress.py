"""What long commands show while they work: a rich progress bar when stdout is a terminal, a few plain
lines otherwise (never one line per object). `Progress.task(label, total)` gives a handle with
`advance(n)`, `update(done)` and `done(summary)`."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


def is_tty(stream=None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _PlainTask:
    def __init__(self, label: str, total: int | None, out):
        self.label, self.total, self.out, self.count = label, total, out, 0
        self.started = time.monotonic()
        self._last_print = 0.0

    def update(self, done: int) -> None:
        self.count = done
        now = time.monotonic()
        if now - self._last_print >= 10:  # a heartbeat for long work in logs, not a line per object
            self._last_print = now
            print(f"  {self.label}: {self.count}/{self.total if self.total is not None else '?'}", file=self.out, flush=True)

    def advance(self, n: int = 1) -> None:
        self.update(self.count + n)

    def done(self, summary: str = "") -> None:
        total = f"/{self.total}" if self.total is not None else ""
        took = time.monotonic() - self.started
        print(f"  {self.label}: {self.count}{total} done in {took:.1f} s" + (f"; {summary}" if summary else ""),
              file=self.out, flush=True)


class _RichTask:
    def __init__(self, progress, label: str, total: int | None):
        self.progress, self.label, self.count = progress, label, 0
        self.id = progress.add_task(label, total=total)

    def update(self, done: int) -> None:
        self.count = done
        self.progress.update(self.id, completed=done)

    def advance(self, n: int = 1) -> None:
        self.update(self.count + n)

    def done(self, summary: str = "") -> None:
        task = self.progress.tasks[self.id] if self.id < len(self.progress.tasks) else None
        if task is not None and task.total is not None:
            self.progress.update(self.id, completed=max(self.count, task.total))
        self.progress.update(self.id, description=f"{self.label}" + (f" [dim]{summary}[/dim]" if summary else ""))


class Progress:
    """`with Progress() as p: t = p.task("orders", 1000); ...; t.done()`. `enabled=False` prints nothing."""

    def __init__(self, enabled: bool = True, out=None, tty: bool | None = None):
        self.enabled = enabled
        self.out = out or sys.stdout
        self.tty = is_tty(self.out) if tty is None else tty
        self._rich = None

    def __enter__(self) -> "Progress":
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn)

            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(file=self.out), transient=False)
            self._rich.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)

    def task(self, label: str, total: int | None):
        if not self.enabled:
            return _NullTask()
        if self._rich is not None:
            return _RichTask(self._rich, label, total)
        return _PlainTask(label, total, self.out)

    def log(self, message: str) -> None:
        """A line above the bars (or a plain line)."""
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.out, flush=True)


class _NullTask:
    count = 0

    def update(self, done: int) -> None:
        self.count = done

    def advance(self, n: int = 1) -> None:
        self.count += n

    def done(self, summary: str = "") -> None:
        pass


class Poller:
    """Calls `read()` every `interval` seconds on a thread and gives the value to `task.update`, while
    work that reports nothing itself runs (a Dagster run in this process)."""

    def __init__(self, task, read: Callable[[], int], interval: float = 0.5):
        self.task, self.read, self.interval = task, read, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress-poller", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.task.update(self.read())
            except Exception:  # a busy database now and then: the next poll reads again
                pass

    def __enter__(self) -> "Poller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.task.update(self.read())
        except Exception:
            pass
