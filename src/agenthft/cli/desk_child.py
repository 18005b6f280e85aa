"""One strategy of a desk in its own process: what `agenthft desk` starts per strategy (not a
command to type). It is `agenthft run` for a desk entry: the strategy's agent with its venue
sessions, journal and risk, its control plane's HTTP door on loopback behind the token the
desk gave it, its results under OUT/NAME.

Its orders come on stdin (`control.desk.wire.ChildConfig`: keys and token never in argv); it
answers on stdout with `Ready` (or `Failed`), then `Ended` with its summary. SIGTERM ends it as
the desk's end does (cancel-all with --cancel-on-exit); SIGINT, the desk's Ctrl-C, cancels every
order first, and so does the desk's death (PR_SET_PDEATHSIG); journals are flushed either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import msgspec

from agenthft.cli.errors import Exit, end_codes, worst
from agenthft.control.desk.wire import ChildConfig, Ended, Failed, Line, Ready
from agenthft.runtime.runner import Observer, Runner


def emit(line: Line) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(line) + b"\n")
    sys.stdout.flush()


async def serve(cfg: ChildConfig) -> int:
    from agenthft.cli.desk import venue_fills
    from agenthft.connectors.port import VenueAuthError, VenueUnreachable
    from agenthft.control import ControlPlane, Token
    from agenthft.control import http as control_http
    from agenthft.runtime.closing import close
    from agenthft.runtime.desk import DeskSpec, build_desk
    from agenthft.runtime.multi import sessions

    name = cfg.strategy.name
    stop = asyncio.Event()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    agent = build_desk(DeskSpec(cfg.venues, [cfg.strategy]), cfg.journal_dir)[name]
    try:
        await agent.start()
    except (OSError, TimeoutError, VenueAuthError, VenueUnreachable, ValueError) as e:
        # a refused key or a bad market is the user's to fix (2); a venue not there is 4
        code = Exit.USAGE if isinstance(e, (VenueAuthError, ValueError)) else Exit.VENUE_UNREACHABLE
        emit(Failed(f"{type(e).__name__}: {e}", int(code)))
        return int(code)
    for r in sessions(agent).values():
        r.observers.append(_Announce(name))
    plane = ControlPlane({name: agent}, {cfg.token: Token("desk")})
    site, url = await control_http.serve(plane)
    recording: Any = None
    if cfg.out:
        from agenthft.backtest.results import LiveRecording

        recording = LiveRecording(agent)
    emit(Ready(url, os.getpid()))
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
        if recording is not None:
            recording.tick()
    out = Path(cfg.out or ".") / name
    write = (lambda: recording.write(out, f"live: desk ({name})")) if recording is not None else None
    ends, files = await close({name: agent}, cfg.cancel_on_exit or interrupted, [_noop, site.cleanup], write)
    end = ends[name]
    summary = end.summary | {"venue_fill_ids": venue_fills(cfg.strategy, end)}
    if end.errors:
        summary["venue_errors"] = end.errors
    if files is not None:
        summary["files"] = [str(p) for p in files]
    code = worst(end_codes(interrupted, end.halted, bool(end.errors)))
    emit(Ended(summary, int(code)))
    return int(code)


async def _noop() -> None:
    """(No dashboard in a strategy's process: the seat's first closer.)"""


class _Announce(Observer):
    """One stderr line when the strategy's risk state changes (with the cause)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_event(self, runner: Runner, kind: str, payload: Any) -> None:
        if kind == "trip":
            print(f"agenthft desk: {self.name}: risk {runner.risk.state.value}: {payload}", file=sys.stderr, flush=True)


def _die_with_desk() -> None:
    """SIGINT (cancel everything, then exit) when the desk process dies (Linux): set here, in
    this process, after exec."""
    from agenthft.children import dies_with_parent

    set_it = dies_with_parent(signal.SIGINT)
    if set_it is not None:
        set_it()


def main() -> int:
    import uvloop

    _die_with_desk()
    cfg = msgspec.json.decode(sys.stdin.buffer.read(), type=ChildConfig)
    if cfg.strategy.cpu is not None:
        try:
            os.sched_setaffinity(0, {cfg.strategy.cpu})
        except (OSError, ValueError) as e:
            emit(Failed(f"cpu = {cfg.strategy.cpu}: {e} (this machine has CPUs {sorted(os.sched_getaffinity(0))})", 2))
            return int(Exit.USAGE)
    if cfg.strategy.nice:
        try:
            os.nice(cfg.strategy.nice)
        except OSError as e:  # lowering it (a negative nice) needs CAP_SYS_NICE
            emit(Failed(f"nice = {cfg.strategy.nice}: {e.strerror} (below 0 needs CAP_SYS_NICE)", 2))
            return int(Exit.USAGE)
    return uvloop.run(serve(cfg))


if __name__ == "__main__":
    sys.exit(main())
