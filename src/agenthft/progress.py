"""Progress of the jobs that take more than a few seconds (backtests, sweeps, experiments, cache
builds), on stderr: a rich bar on a terminal, else one plain line every few seconds
(`$AGENTHFT_PROGRESS_S`, default 5; 0: a line when the job starts and at every step), so a log,
CI or an AI agent reading the pipe sees the job is alive and how far it got. A job shorter than
the interval prints nothing off a terminal.

    with Progress("agenthft sweep", "backtests", total=len(specs)) as p:
        for row in rows:
            p.advance()

`update` and `advance` only store numbers (the backtest's loop calls them): the bar refreshes on
its own and the plain lines come from a thread that wakes every interval.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

DEFAULT_EVERY_S = 5.0


def every_s() -> float:
    """Seconds between plain progress lines: `$AGENTHFT_PROGRESS_S`, else 5; 0 is every step."""
    text = os.environ.get("AGENTHFT_PROGRESS_S", "")
    try:
        value = float(text) if text else DEFAULT_EVERY_S
    except ValueError:
        return DEFAULT_EVERY_S
    return value if value >= 0 else DEFAULT_EVERY_S


class Progress:
    """`who` prefixes the plain lines (`agenthft sweep`); `what` names the work (`backtests`);
    `total` in `unit`s (None: not known, the elapsed time only)."""

    def __init__(
        self,
        who: str,
        what: str,
        total: float | None = None,
        unit: str = "",
        stream: TextIO | None = None,
        terminal: bool | None = None,
    ) -> None:
        self.who, self.what, self.total, self.unit = who, what, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.done = 0.0
        self.t0 = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._each_step = False

    def __enter__(self) -> Progress:
        self.t0 = time.monotonic()
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            columns: list[Any] = [SpinnerColumn(), TextColumn(self.what), BarColumn()]
            if self.total is not None:
                unit = f" {self.unit}" if self.unit else ""
                columns.append(TextColumn(f"{{task.completed:,.0f}}/{{task.total:,.0f}}{unit}"))
            columns.append(TimeElapsedColumn())
            if self.total is not None:
                columns.append(TimeRemainingColumn())
            self._bar = Bar(*columns, console=Console(file=self.stream, force_terminal=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.what, total=self.total)
        elif every_s() == 0:
            self._each_step = True
            self._print()
        else:
            self._thread = threading.Thread(target=self._lines, name="agenthft-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
            self._thread = None

    def update(self, done: float, total: float | None = None) -> None:
        """`done` so far (and the total, when it is learnt late)."""
        self.done = done
        if total is not None:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total)
        elif self._each_step:
            self._print()

    def advance(self, n: float = 1) -> None:
        self.update(self.done + n)

    def line(self) -> str:
        """The plain line: how far, how long, how long left (from the rate so far)."""
        elapsed = time.monotonic() - self.t0
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None or self.total <= 0:
            return f"{self.who}: {self.what}, {elapsed:,.0f} s elapsed"
        share = min(1.0, self.done / self.total)
        left = f", ~{elapsed * (1 - share) / share:,.0f} s left" if share > 0 else ""
        return (
            f"{self.who}: {self.what} {self.done:,.0f}/{self.total:,.0f}{unit} ({share:.0%}), "
            f"{elapsed:,.0f} s elapsed{left}"
        )

    def _lines(self) -> None:
        every = every_s()
        while not self._stop.wait(every):
            self._print()

    def _print(self) -> None:
        # one write with its newline: a Ctrl-C (raised wherever it lands) between a line and its
        # newline left the interruption's own line glued to it
        self.stream.write(self.line() + "\n")
        self.stream.flush()


def loading(who: str, paths: Sequence[str | Path]) -> Progress:
    """Reading recorded files: the first read of a set decodes it into the columnar cache
    (seconds to minutes for big captures), later ones read the cache. How long it has taken so
    far: the readers do not say how far they got."""
    files = [Path(p) for p in paths]
    size = sum(f.stat().st_size for f in files if f.is_file())
    n = f"{len(files)} recorded file{'s' if len(files) != 1 else ''}"
    return Progress(who, f"reading {n} ({size / 1e6:,.1f} MB; a first read decodes them into the columnar cache)")
