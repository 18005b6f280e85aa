"""`agenthft record VENUE[:MARKETS] --out DIR`: a venue's public streams to Parquet (and its raw
frames where the connector keeps them), replayable and backtestable as recorded."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from agenthft.cli.errors import CliError, Exit, start_failure, stop_on_signals


def open_recording_port(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """The venue port and markets `args` name: `binance-usdm:BTCUSDT,ETHUSDT` (any venue spec,
    public side only, no keys) or an agenthft URL with `--rest` and `--key`."""
    from agenthft.cli.run import make_port
    from agenthft.connectors.registry import kind_of, split_markets

    spec, markets = split_markets(args.url)
    markets += [m for m in (args.markets or "").split(",") if m]
    try:
        kind: str | None = kind_of(spec)
    except ValueError:
        kind = None  # make_port says what is wrong with it
    if kind == "agenthft":
        if not args.rest or not args.key:
            raise CliError(Exit.USAGE, f"recording {spec} (agenthft's protocol) needs --rest URL and --key KEY")
        return make_port(spec, args.rest, args.key), markets
    return make_port(spec, None, None, public=True), markets


def cmd_record(args: argparse.Namespace) -> int:
    import uvloop

    from agenthft.runtime.recorder import record

    port, markets = open_recording_port(args)
    interrupted: list[bool] = []

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        ctrl_c = stop_on_signals(stop)
        try:
            return await record(
                port, markets, args.out, args.duration, args.roll_rows, args.roll_s, stop, raw=not args.no_raw
            )
        finally:
            interrupted.append(ctrl_c())

    try:
        res = uvloop.run(main())
    except ValueError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    except Exception as e:  # a key the venue refuses is 2, a venue not there 4 (errors.start_failure)
        failure = start_failure(e, args.url)
        if not isinstance(failure, CliError):
            raise
        raise CliError(failure.code, f"cannot record from {args.url}: {failure}") from None
    if args.json:
        print(json.dumps(res))
    else:
        print(f"recorded {res['rows']:,} rows of {', '.join(res['markets'])} into {len(res['files'])} file(s)")
        for f in res["files"]:
            print(f"  {f}")
        if res["raw"]:
            print(f"raw frames as received (hftbacktest's format; `agenthft replay` checks them): {len(res['raw'])}")
            for f in res["raw"]:
                print(f"  {f}")
        if res["gaps"]:
            print(f"  {res['gaps']} sequence gap(s): resynced from a fresh snapshot (the files show the reset)")
    sys.stdout.flush()
    if any(interrupted):  # the files are written and listed above
        print("agenthft record: interrupted", file=sys.stderr)
        return int(Exit.INTERRUPTED)
    return 0


def add_parser(sub: Any) -> None:
    rec = sub.add_parser("record", help="record a venue's public streams to Parquet (replayable, backtestable)")
    rec.add_argument(
        "url",
        help="VENUE[:MARKETS]: binance-usdm:BTCUSDT,ETHUSDT, binance-usdm-testnet, NAME@http://HOST:PORT:MARKETS, "
        "ccxt:EXCHANGE:BTC/USDT, or an agenthft venue's ws://HOST:PORT/trading (with --rest and --key)",
    )
    rec.add_argument("--rest", help="an agenthft venue's REST base URL (for the markets' grids)")
    rec.add_argument("--key", help="an agenthft venue's API key (ahk_...); real venues need none to record")
    rec.add_argument("--markets", help="comma-separated (default: every market the venue lists)")
    rec.add_argument("--out", required=True, help="folder for the Parquet files (raw frames go in OUT/raw)")
    rec.add_argument("--duration", type=float, help="seconds to record (default: until SIGINT/SIGTERM)")
    rec.add_argument("--roll-rows", type=int, default=1_000_000, help="start a new file after this many rows")
    rec.add_argument("--roll-s", type=float, default=3600.0, help="start a new file after this many seconds")
    rec.add_argument("--no-raw", action="store_true", help="only the normalised rows, not the raw frames")
    rec.add_argument("--json", action="store_true", help="print the result as JSON")
    rec.set_defaults(func=cmd_record)
