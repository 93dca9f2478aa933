"""What long commands show while they work: a rich progress bar when the stream it goes to is a
terminal, a few plain lines otherwise (never one line per object or record). `Progress.task(label,
total)` gives a handle with `advance(n)`, `update(done, note=...)` and `done(summary)`.
`S3P_NO_PROGRESS=1` turns it off."""

from __future__ import annotations

import io
import os
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
    """Plain lines. `quiet_for=None`: the first update and a heartbeat every 10 s, then an end line.
    `quiet_for=S`: nothing for work shorter than S seconds; else one line then, and an end line."""

    def __init__(self, label: str, total: int | None, out, quiet_for: float | None = None):
        self.label, self.total, self.out, self.count, self.note = label, total, out, 0, ""
        self.started = time.monotonic()
        self.quiet_for, self._said = quiet_for, False
        self._last_print = 0.0

    def update(self, done: int, note: str | None = None) -> None:
        self.count = done
        if note is not None:
            self.note = note
        now = time.monotonic()
        if self.quiet_for is not None:
            if not self._said and now - self.started >= self.quiet_for:
                self._said = True
                print(f"  {self.label}: {self.count}{self._of()} so far" + (f", {self.note}" if self.note else "")
                      + " ...", file=self.out, flush=True)
            return
        if now - self._last_print >= 10:  # a heartbeat for long work in logs, not a line per object
            self._last_print = now
            print(f"  {self.label}: {self.count}/{self.total if self.total is not None else '?'}", file=self.out, flush=True)

    def _of(self) -> str:
        return f"/{self.total}" if self.total is not None else ""

    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.update(self.count + n, note)

    def done(self, summary: str = "") -> None:
        if self.quiet_for is not None and not self._said:
            return  # short work: no line at all
        took = time.monotonic() - self.started
        summary = ", ".join(s for s in (self.note, summary) if s)
        print(f"  {self.label}: {self.count}{self._of()} done in {took:.1f} s" + (f"; {summary}" if summary else ""),
              file=self.out, flush=True)


class _RichTask:
    def __init__(self, progress, label: str, total: int | None):
        self.progress, self.label, self.count = progress, label, 0
        self.id = progress.add_task(label, total=total, note="")

    def update(self, done: int, note: str | None = None) -> None:
        self.count = done
        if note is None:
            self.progress.update(self.id, completed=done)
        else:
            self.progress.update(self.id, completed=done, note=note)

    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.update(self.count + n, note)

    def done(self, summary: str = "") -> None:
        task = self.progress.tasks[self.id] if self.id < len(self.progress.tasks) else None
        if task is not None and task.total is not None:
            self.progress.update(self.id, completed=max(self.count, task.total))
        elif task is not None:  # an open-ended count: the bar full at what was counted
            self.progress.update(self.id, total=self.count, completed=self.count)
        self.progress.update(self.id, description=f"{self.label}" + (f" [dim]{summary}[/dim]" if summary else ""))


class Progress:
    """`with Progress() as p: t = p.task("orders", 1000); ...; t.done()`. `enabled=False` prints nothing.
    `out`: where it shows (stdout by default; commands whose stdout is data pass stderr).
    `quiet_for`: when `out` is not a terminal, say nothing about tasks shorter than that (seconds)."""

    def __init__(self, enabled: bool = True, out=None, tty: bool | None = None, quiet_for: float | None = None):
        self.enabled = enabled and not os.environ.get("S3P_NO_PROGRESS")
        self.out = out or sys.stdout
        self.tty = is_tty(self.out) if tty is None else tty
        self.quiet_for = quiet_for
        self._rich = None
        self._held: list[tuple[io.IOBase, object]] = []

    @property
    def showing(self) -> bool:
        """A live bar is on the terminal."""
        return self._rich is not None

    def __enter__(self) -> "Progress":
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn)

            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
                                      console=Console(file=self.out), transient=False,
                                      # a bar on stderr must not move what is printed to stdout (the data)
                                      redirect_stdout=self.out is sys.stdout)
            self._rich.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
            self._rich = None
        for buffer, stream in self._held:
            stream.write(buffer.getvalue())
            stream.flush()
        self._held.clear()

    def output(self, stream):
        """Where a command writes its data to `stream` meanwhile: `stream` itself, or, when a live bar
        shows and `stream` is a terminal too, a buffer written to `stream` once the bar is gone (the
        bar redraws over whatever is written under it)."""
        if self._rich is None or not is_tty(stream):
            return stream
        buffer = io.BytesIO() if isinstance(stream, (io.RawIOBase, io.BufferedIOBase)) else io.StringIO()
        self._held.append((buffer, stream))
        return buffer

    def task(self, label: str, total: int | None):
        if not self.enabled:
            return _NullTask()
        if self._rich is not None:
            return _RichTask(self._rich, label, total)
        return _PlainTask(label, total, self.out, self.quiet_for)

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

    def update(self, done: int, note: str | None = None) -> None:
        self.count = done

    def advance(self, n: int = 1, note: str | None = None) -> None:
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
