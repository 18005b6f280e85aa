"""`agenthft record URL --markets ... --out DIR`: a venue's public streams to Parquet."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from agenthft.cli.errors import CliError, Exit


def cmd_record(args: argparse.Namespace) -> int:
    import uvloop

    from agenthft.market.recorder import record

    markets = [m for m in (args.markets or "").split(",") if m]

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await record(
            args.url, args.rest, args.key, markets, args.out, args.duration, args.roll_rows, args.roll_s, stop
        )

    try:
        res = uvloop.run(main())
    except ValueError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    except (OSError, TimeoutError, PermissionError) as e:
        raise CliError(Exit.VENUE_UNREACHABLE, f"cannot record from {args.url}: {type(e).__name__}: {e}") from None
    if args.json:
        print(json.dumps(res))
    else:
        print(f"recorded {res['rows']:,} rows of {', '.join(res['markets'])} into {len(res['files'])} file(s)")
        for f in res["files"]:
            print(f"  {f}")
        if res["gaps"]:
            print(f"  {res['gaps']} sequence gap(s): resynced from a fresh snapshot (the files show the reset)")
    sys.stdout.flush()
    return 0


def add_parser(sub: Any) -> None:
    rec = sub.add_parser("record", help="record a venue's public streams to Parquet (replayable, backtestable)")
    rec.add_argument("url", help="the venue's WebSocket URL, e.g. ws://127.0.0.1:8765/trading")
    rec.add_argument("--rest", required=True, help="its REST base URL (for the markets' grids)")
    rec.add_argument("--key", required=True, help="API key (ahk_...)")
    rec.add_argument("--markets", help="comma-separated (default: every market the venue lists)")
    rec.add_argument("--out", required=True, help="folder for the Parquet files")
    rec.add_argument("--duration", type=float, help="seconds to record (default: until SIGINT/SIGTERM)")
    rec.add_argument("--roll-rows", type=int, default=1_000_000, help="start a new file after this many rows")
    rec.add_argument("--roll-s", type=float, default=3600.0, help="start a new file after this many seconds")
    rec.add_argument("--json", action="store_true", help="print the result as JSON")
    rec.set_defaults(func=cmd_record)
