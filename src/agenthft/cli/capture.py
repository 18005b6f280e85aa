"""`agenthft replay`: rebuild books from captures and verify them against their own oracles."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from agenthft.cli.errors import CliError, Exit
from agenthft.market.events import CaptureFormatError
from agenthft.market.feeds import FORMATS, ReplayReport, verify_files
from agenthft.market.feeds.probe import load_instruments

DEFAULT_DATA = Path("../shared/data")
#: the small real capture that ships with the package (its README: provenance, licence, checks)
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def _markets(markets: Sequence[str], shown: int = 3) -> str:
    """The report's markets, the first few named (a file of ten pairs says `+7 more`)."""
    more = f"\n+{len(markets) - shown} more" if len(markets) > shown else ""
    return "\n".join(markets[:shown]) + more if markets else "-"


def _report_table(reports: Sequence[ReplayReport]) -> Table:
    table = Table(title="book replica verified against real captures")
    for col in ("format", "market", "files", "check", "passed", "failed", "gaps", "crossed", "events/s"):
        table.add_column(col, justify="left" if col in ("format", "market", "files", "check") else "right")
    for r in reports:
        table.add_row(
            r.venue_format,
            _markets(r.markets),
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
        console = Console(width=None if sys.stdout.isatty() else 160)  # never cut to 80 columns in a pipe
        console.print(_report_table(reports))
        for r in reports:
            for f in r.failures:
                console.print(f"[red]FAIL[/red] {r.venue_format}: {f}", soft_wrap=True)
            for note in r.notes:
                console.print(f"[dim]note[/dim] {r.venue_format}: {note}", soft_wrap=True)
            if not r.checks_passed and not r.checks_failed:
                console.print(
                    f"[yellow]NOTHING CHECKED[/yellow] {r.venue_format} {', '.join(r.files)}: {_why_no_checks(r)}"
                )
    return 0 if all(r.ok for r in reports) else 1


def _why_no_checks(r: ReplayReport) -> str:
    """A report with 0 checks says why (exit 1: nothing was verified)."""
    if not r.events:
        return "no book data in the file (empty, trades only, or not this format)"
    if r.gaps:
        return f"{r.gaps} sequence gap(s) and no snapshot to resync from (a later day alone needs its earlier file)"
    if r.venue_format == "binance":
        return (
            f"{r.events:,} events but no check could be made: the book never synced (a later day's file "
            "needs the earlier one before it: no snapshot to start from)"
        )
    return f"{r.events:,} events but none the {r.check} oracle covers (no book channel, or no checksums)"


def cmd_replay(args: argparse.Namespace) -> int:
    from agenthft.book import SequenceGap

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise CliError(Exit.USAGE, f"no capture file {missing[0]!r}")
    from agenthft.progress import Progress

    instruments = load_instruments(args.instrument) if args.instrument else None
    try:
        n = len(args.files)
        with Progress("agenthft replay", f"verifying {n} capture file{'s' if n != 1 else ''}"):
            reports = verify_files(args.files, args.venue_format, instruments, args.ts_unit)
    except SequenceGap as e:
        raise CliError(
            Exit.USAGE,
            f"the files do not chain: {e} (give a market's files in time order, the first one with a snapshot)",
        ) from None
    except CaptureFormatError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    except (ValueError, KeyError, IndexError, UnicodeDecodeError, EOFError, OSError) as e:
        fmt = args.venue_format or "the guessed format"
        raise CliError(
            Exit.USAGE,
            f"cannot read {args.files[0]} as {fmt}: {type(e).__name__}: {str(e)[:120]} "
            f"(formats: {', '.join(FORMATS)}; --venue-format to choose)",
        ) from None
    return _print_reports(reports, args.json)


def add_parser(sub: Any) -> None:
    replay = sub.add_parser("replay", help="rebuild books from captures and verify them")
    replay.add_argument(
        "files",
        nargs="+",
        help="capture files, any format by content (a market's files are chained in time order; "
        "companion files such as cryptofeed's .http. captures are found beside them)",
    )
    replay.add_argument("--venue-format", choices=FORMATS, help="default: detected from the file's content")
    replay.add_argument(
        "--instrument",
        metavar="FILE",
        help="tick and lot from a Binance exchangeInfo JSON or a TOML [[markets]] file (default: inferred)",
    )
    replay.add_argument(
        "--ts-unit",
        choices=("s", "ms", "us", "ns"),
        help="unit of the local timestamps, when the data cannot tell (default: read from each file)",
    )
    replay.add_argument("--json", action="store_true", help="print reports as JSON")
    replay.set_defaults(func=cmd_replay)
