"""`agenthft report RESULTS_DIR`: rebuild the self-contained HTML report from a results folder."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from agenthft.cli.errors import CliError, Exit


def cmd_report(args: argparse.Namespace) -> int:
    from agenthft.report import build_index, build_report, results_from_journal

    d = Path(args.results)
    if d.is_file():  # a run's SQLite journal: rebuild its results folder, then the report
        target = Path(args.out) if args.out else d.with_name(d.stem + "-report")
        try:
            path = results_from_journal(d, target)
        except (ValueError, OSError, sqlite3.Error) as e:
            raise CliError(Exit.USAGE, f"cannot read {d} as an agenthft journal: {e}") from None
        print(f"wrote {path}")
        return 0
    if not (d / "summary.json").is_file():
        runs = sorted(p.parent for p in d.glob("*/summary.json"))
        if not runs:
            raise CliError(
                Exit.USAGE,
                f"{d} has no summary.json (a folder written by `backtest --out` or `run --out`, a folder of "
                "such folders, or a journal)",
            )
        for run in runs:  # a folder of results (the demo's desk): each one's report, then the index
            print(f"wrote {build_report(run)}")
        print(f"wrote {build_index(d)}")
        return 0
    path = build_report(d, args.out)
    print(f"wrote {path}")
    return 0


def add_parser(sub: Any) -> None:
    rep = sub.add_parser("report", help="rebuild the HTML report (inline plots) from a results folder")
    rep.add_argument(
        "results",
        help="a results folder (`backtest --out`, `run --out`), a folder of them (an index too), or a run's journal",
    )
    rep.add_argument("--out", help="the HTML file (a folder: the journal's results folder); default beside the input")
    rep.set_defaults(func=cmd_report)
