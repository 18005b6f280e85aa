"""Command line: `agenthft demo | venue | run | desk | dashboard | strategies | replay | record | signals |
backtest | sweep | experiment | report | probe`.

Every user error is one line on stderr (`agenthft CMD: what was wrong and how to fix it`) with a
documented exit code (`agenthft.cli.errors.Exit`); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
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
from agenthft.cli.errors import CliError, Exit
from agenthft.strategies.loader import StrategyError

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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"agenthft {args.command}: interrupted", file=sys.stderr)
        return int(Exit.INTERRUPTED)
    except Exception as e:
        if args.debug:
            raise
        code, message = _explain(e)
        print(f"agenthft {args.command}: {message}", file=sys.stderr)
        return int(code)


def _explain(e: Exception) -> tuple[Exit, str]:
    if isinstance(e, CliError):
        return e.code, str(e)
    if isinstance(e, StrategyError):
        return Exit.USAGE, str(e)
    if isinstance(e, FileNotFoundError):
        return Exit.USAGE, f"no such file: {e.filename}"
    if isinstance(e, (ValueError, OSError)):
        return Exit.USAGE, str(e) or type(e).__name__
    return Exit.USAGE, f"{type(e).__name__}: {e} (run with --debug for the traceback)"


__all__ = ["CliError", "Exit", "build_parser", "main"]
