"""Command line: `agenthft demo | replay` (venue, run and the rest arrive with their issues)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from agenthft.market.feeds import FORMATS, ReplayReport, shared_captures, verify_files

DEFAULT_DATA = Path("../shared/data")


def _report_table(reports: Sequence[ReplayReport]) -> Table:
    table = Table(title="book replica verified against real captures")
    for col in ("format", "files", "check", "passed", "failed", "gaps", "crossed", "events/s"):
        table.add_column(col, justify="left" if col in ("format", "files", "check") else "right")
    for r in reports:
        table.add_row(
            r.venue_format,
            "\n".join(Path(f).name for f in r.files),
            r.check,
            f"{r.checks_passed:,}",
            f"{r.checks_failed:,}",
            str(r.gaps),
            str(r.crossed),
            f"{r.events_per_s:,.0f}",
        )
    return table


def _print_reports(reports: Sequence[ReplayReport], as_json: bool) -> int:
    if as_json:
        sys.stdout.write(msgspec.json.encode(list(reports)).decode() + "\n")
    else:
        console = Console()
        console.print(_report_table(reports))
        for r in reports:
            for f in r.failures:
                console.print(f"[red]FAIL[/red] {r.venue_format}: {f}")
    return 0 if all(r.ok for r in reports) else 1


def cmd_replay(args: argparse.Namespace) -> int:
    return _print_reports(verify_files(args.files, args.venue_format), args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if not data.is_dir():
        print(f"demo: no data folder at {data} (pass --data)", file=sys.stderr)
        return 2
    reports = [r for group in shared_captures(data) for r in verify_files(group)]
    code = _print_reports(reports, args.json)
    if not args.json:
        total = sum(r.checks_passed for r in reports)
        failed = sum(r.checks_failed for r in reports)
        print(f"{total:,} checks passed, {failed:,} failed over {len(reports)} captures")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agenthft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the most complete end-to-end job available")
    demo.add_argument("--data", default=str(DEFAULT_DATA), help="folder of recorded captures")
    demo.add_argument("--json", action="store_true", help="print reports as JSON")
    demo.set_defaults(func=cmd_demo)

    replay = sub.add_parser("replay", help="rebuild books from captures and verify them")
    replay.add_argument("files", nargs="+", help="capture files (Binance files are chained in order)")
    replay.add_argument("--venue-format", choices=FORMATS, help="default: guessed from the file name")
    replay.add_argument("--json", action="store_true", help="print reports as JSON")
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (OSError, ValueError) as e:
        print(f"agenthft {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
