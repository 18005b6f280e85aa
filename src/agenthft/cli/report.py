"""`agenthft report RESULTS_DIR`: rebuild the self-contained HTML report from a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agenthft.cli.errors import CliError, Exit


def cmd_report(args: argparse.Namespace) -> int:
    from agenthft.report import build_report

    d = Path(args.results)
    if not (d / "summary.json").is_file():
        raise CliError(Exit.USAGE, f"{d} has no summary.json (a folder written by `agenthft backtest --out DIR`)")
    path = build_report(d, args.out)
    print(f"wrote {path}")
    return 0


def add_parser(sub: Any) -> None:
    rep = sub.add_parser("report", help="rebuild the HTML report (inline plots) from a results folder")
    rep.add_argument("results", help="a folder written by `agenthft backtest --out DIR`")
    rep.add_argument("--out", help="where to write the HTML (default: RESULTS/report.html)")
    rep.set_defaults(func=cmd_report)
