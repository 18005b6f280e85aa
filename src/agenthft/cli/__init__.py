"""Command line: `agenthft demo | venue | run | desk | dashboard | strategies | replay | record | signals |
backtest | sweep | experiment | report | probe`.

Every user error is one line on stderr (`agenthft CMD: what was wrong and how to fix it`) with a
documented exit code (`agenthft.cli.errors.Exit`, one mapping for every command:
`errors.explain`); `--debug` shows the traceback instead. Ctrl-C at any moment, the imports
included, is exit 130 and one line (`ctrl_c`): this module imports nothing heavy at its top, so the console
script is inside `main`'s handler before the commands' modules (aiohttp, pyarrow, ...) load.
"""

from __future__ import annotations

import sys

from agenthft.cli import ctrl_c  # first: its SIGINT handler is in place from here on

TYPE_CHECKING = False  # not `typing`'s: even that import (7 ms) stays out of the unguarded start-up
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

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
    command, debug, state, restore = "", False, None, True
    try:
        # Ctrl-C raises KeyboardInterrupt wherever it lands, inside an event loop too: with
        # Python's own handler in place, asyncio.Runner (uvloop.run) turns it into a cancellation
        # that a coroutine may absorb, and the command would go on as if nothing had happened.
        # Commands that stop cleanly on Ctrl-C (run, desk, venue, ...) put their loop's handler
        # over this one while they run.
        state = ctrl_c.arm()
        from agenthft.cli.errors import explain

        args = build_parser().parse_args(argv)
        command, debug = args.command, args.debug
        code = int(args.func(args))
        if ctrl_c.pending():  # raised and lost on the way (the watcher had not delivered it yet)
            raise KeyboardInterrupt
        return code
    except KeyboardInterrupt:
        restore = False  # a second Ctrl-C while leaving changes nothing (no traceback at exit)
        return _interrupted(command)
    except Exception as e:
        if debug:
            raise
        if ctrl_c.pending():  # an error the Ctrl-C caused on its way out (seen: uvloop.run's
            restore = False  # "Cannot close a running event loop" when it landed as the loop started)
            return _interrupted(command)
        code, message = explain(e)
        print(f"agenthft{' ' + command if command else ''}: {message}", file=sys.stderr)
        return int(code)
    finally:
        if state is not None:
            ctrl_c.disarm(state, restore)


def _interrupted(command: str) -> int:
    ctrl_c.ignore()
    print(f"agenthft{' ' + command if command else ''}: interrupted", file=sys.stderr, flush=True)
    return 130  # errors.Exit.INTERRUPTED (not imported: its import may be what Ctrl-C interrupted)


def entry() -> None:
    """The process's entry (the console script, `python -m agenthft`): `main`, then Ctrl-C is
    ignored while the interpreter shuts down (its threads joined, its files flushed): a Ctrl-C
    that lands after the command finished changes nothing and prints no traceback.

    A Ctrl-C before `main` is still a Ctrl-C: one our handler counted while the console script
    imported this module, or one Python's own start-up caught and printed before any of our code
    ran (seen: "Failed checking if argv[0] is an import path entry", and then it ran the command,
    an hour-long backtest); Python leaves that one in `sys.last_type`."""
    early = ctrl_c.pending() or getattr(sys, "last_type", None) is KeyboardInterrupt
    code = _interrupted("") if early else main()
    ctrl_c.ignore()
    raise SystemExit(code)


__all__ = ["build_parser", "entry", "main"]
