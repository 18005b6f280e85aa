"""Command line: `agenthft demo | venue | run | desk | dashboard | strategies | replay | record | signals |
backtest | sweep | experiment | report | probe`.

Every user error is one line on stderr (`agenthft CMD: what was wrong and how to fix it`) with a
documented exit code (`agenthft.cli.errors.Exit`, one mapping for every command:
`errors.explain`); `--debug` shows the traceback instead. Ctrl-C at any moment, the imports
included, is exit 130 and one line: this module imports nothing heavy at its top, so the console
script is inside `main`'s handler before the commands' modules (aiohttp, pyarrow, ...) load.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing`'s: even that import (7 ms) stays out of the unguarded start-up
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any

DESCRIPTION = """High-frequency trading toolkit for AI agents.

  demo        the most complete end-to-end job (verified replays, every strategy live, backtests)
  venue       run the reference venue (WebSocket + REST), optionally with a simulated or replayed market
  run         run a strategy (shipped, MODULE:CLASS or FILE.py:CLASS) against a venue
  desk        several strategies at once, each its own agent, under one control plane
  dashboard   the live dashboard of a running agent, drawn from its control plane
  strategies  list the shipped strategies and their parameters
  replay      rebuild order books from recorded captures and verify them against their oracles
  record      record a venue's public streams to Parquet (replayable and backtestable as is)
  signals     microstructure detectors: scored against the simulator's labels, run over real captures
  backtest    a strategy on a simulated clock with latency models: minutes of market in seconds
  sweep       a grid of backtests (parameters x latencies x seeds) in parallel, one Parquet table
  experiment  the article's claims as sweeps with a plot (latency-claim, spoof-fading)
  report      rebuild a results folder's HTML report (P&L, fills on the price, latency, inventory, risk)
  probe       ping a venue: RTT percentiles, the article's infrastructure tier, what is viable there
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse
    from importlib.metadata import version

    from agenthft.cli import (
        backtest,
        capture,
        dashboard,
        demo,
        desk,
        experiment,
        probe,
        record,
        report,
        run,
        signals,
        venue,
    )

    parser = argparse.ArgumentParser(
        prog="agenthft", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"agenthft {version('agenthft')}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_parser(sub)
    capture.add_parser(sub)
    venue.add_parser(sub)
    record.add_parser(sub)
    run.add_parsers(sub)
    desk.add_parser(sub)
    dashboard.add_parser(sub)
    signals.add_parser(sub)
    backtest.add_parser(sub)
    backtest.add_sweep_parser(sub)
    experiment.add_parser(sub)
    report.add_parser(sub)
    probe.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run one command; its exit code (errors.Exit). Ctrl-C anywhere in here, the
    commands' imports included, is `Exit.INTERRUPTED` (130) and one line, never a traceback."""
    command, debug, previous, restore = "", False, None, True
    _interrupts.clear()
    unraisable = sys.unraisablehook
    sys.unraisablehook = _redeliver_interrupt(unraisable)
    try:
        import signal

        # Ctrl-C raises KeyboardInterrupt wherever it lands, inside an event loop too: with
        # Python's own handler in place, asyncio.Runner (uvloop.run) turns it into a cancellation
        # that a coroutine may absorb, and the command would go on as if nothing had happened.
        # Commands that stop cleanly on Ctrl-C (run, desk, venue, ...) put their loop's handler
        # over this one while they run.
        previous = signal.signal(signal.SIGINT, _raise_interrupt)
        _guard_forks()
        from agenthft.cli.errors import explain

        args = build_parser().parse_args(argv)
        command, debug = args.command, args.debug
        code = int(args.func(args))
        if _interrupts:  # raised where Python swallows exceptions (an at-fork hook, a __del__)
            raise KeyboardInterrupt
        return code
    except KeyboardInterrupt:
        restore = False  # a second Ctrl-C while leaving changes nothing (no traceback at exit)
        return _interrupted(command)
    except Exception as e:
        if debug:
            raise
        if _interrupts:  # an error the Ctrl-C caused on its way out (seen: uvloop.run's "Cannot
            restore = False  # close a running event loop" when it landed as the loop started)
            return _interrupted(command)
        code, message = explain(e)
        print(f"agenthft{' ' + command if command else ''}: {message}", file=sys.stderr)
        return int(code)
    finally:
        sys.unraisablehook = unraisable
        if restore and previous is not None:
            signal.signal(signal.SIGINT, previous)


def _interrupted(command: str) -> int:
    _ignore_sigint()
    print(f"agenthft{' ' + command if command else ''}: interrupted", file=sys.stderr, flush=True)
    return 130  # errors.Exit.INTERRUPTED (not imported: its import may be what Ctrl-C interrupted)


def entry() -> None:
    """The process's entry (the console script, `python -m agenthft`): `main`, then Ctrl-C is
    ignored while the interpreter shuts down (its threads joined, its files flushed): a Ctrl-C
    that lands after the command finished changes nothing and prints no traceback.

    A Ctrl-C that Python's own start-up caught and printed before any of our code ran (seen: "Failed
    checking if argv[0] is an import path entry", then it went on to run the command, an hour-long
    backtest) is still a Ctrl-C: Python left it in `sys.last_type`."""
    code = _interrupted("") if getattr(sys, "last_type", None) is KeyboardInterrupt else main()
    _ignore_sigint()
    raise SystemExit(code)


#: Ctrl-Cs our handler raised: one that lands in code whose exceptions Python ignores (logging's
#: at-fork hook, a finalizer) is lost but still counted, so the command still ends interrupted
_interrupts: list[int] = []
#: set while os.fork runs its hooks (a subprocess with preexec_fn forks through them): a Ctrl-C
#: raised in there would be ignored and could leave logging's module lock held, so it waits
_forking: list[int] = []
_deferred: list[int] = []
_fork_guarded: list[bool] = []


def _guard_forks() -> None:
    """Once per process, after logging's own hooks: os.fork calls `before` hooks in the reverse
    order of registration and the others in order, so ours bracket logging's."""
    if _fork_guarded:
        return
    import logging  # noqa: F401  (its at-fork hooks first)
    import os

    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork_child)
    _fork_guarded.append(True)


def _before_fork() -> None:
    _forking.append(1)


def _after_fork() -> None:
    _forking.clear()
    if _deferred:  # a Ctrl-C came while forking: deliver it now that the hooks are done
        _deferred.clear()
        _start_interrupt_main_outside(_after_fork.__code__)


def _after_fork_child() -> None:
    _forking.clear()
    _deferred.clear()  # the parent's Ctrl-C is the parent's


def _redeliver_interrupt(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """A hook for the exceptions Python ignores: a Ctrl-C our handler raised where it is ignored
    (logging's at-fork hook, a finalizer) is not printed as 'Exception ignored' with a traceback
    but delivered again once the main thread has left this hook, so it lands in the command's own
    code at its next step. (Delivered from inside the hook, it would be raised in the hook itself:
    Python runs a signal handler at the next call it makes.)"""

    def hook(unraisable: Any) -> object:
        if unraisable.exc_type is not KeyboardInterrupt or not _interrupts:
            return previous(unraisable)
        _start_interrupt_main_outside(hook.__code__)
        return None

    return hook


def _start_interrupt_main_outside(code: object) -> None:
    import _thread
    import contextlib
    import threading

    with contextlib.suppress(RuntimeError):  # no new threads at interpreter shutdown: nothing to stop
        _thread.start_new_thread(_interrupt_main_outside, (code, threading.main_thread().ident))


def _interrupt_main_outside(code: object, main: int | None) -> None:
    import _thread
    import time

    for _ in range(20_000):  # ~10 s at most; the hook returns in microseconds
        frame = sys._current_frames().get(main or 0)
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back
        if frame is None:  # not inside the hook: our handler runs at the main thread's next step
            _thread.interrupt_main()
            return
        time.sleep(0.0005)


def _raise_interrupt(signum: int, frame: object) -> None:
    _interrupts.append(signum)
    if _forking:
        _deferred.append(signum)
        return
    raise KeyboardInterrupt


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["build_parser", "entry", "main"]
