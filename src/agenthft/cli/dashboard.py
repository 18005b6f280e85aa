"""`agenthft dashboard URL`: the live dashboard of a running agent, drawn from its control
plane (`GET URL/v1/view`), in this process: the agent's loop only builds the snapshots."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from agenthft.cli.errors import CliError, Exit, stop_on_signals


async def watch(url: str, token: str, refresh_s: float, levels: int) -> bool:
    """Draw until the agent ends (False), SIGTERM (False) or Ctrl-C (True)."""
    import aiohttp
    from rich.console import Console

    from agenthft.control.dashboard import Dashboard, remote

    stop = asyncio.Event()
    interrupted = stop_on_signals(stop)  # leave the terminal as found (cursor shown)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        fetch = remote(url.rstrip("/"), token, http, levels)
        try:
            await fetch()
        except (aiohttp.ClientError, OSError, ConnectionError, TimeoutError) as e:
            raise CliError(Exit.VENUE_UNREACHABLE, f"no control plane at {url}: {e}") from None
        try:
            await Dashboard(fetch).run(stop, Console(stderr=True), refresh_s)
        except (aiohttp.ClientError, OSError, ConnectionError, TimeoutError):
            return False  # the agent ended: its control plane went away
    return interrupted()


def cmd_dashboard(args: argparse.Namespace) -> int:
    import uvloop

    token = args.token or os.environ.get("AGENTHFT_TOKEN")
    if not token:
        raise CliError(Exit.USAGE, "--token (or AGENTHFT_TOKEN) required: a control-plane token, read-only is enough")
    if uvloop.run(watch(args.url, token, args.refresh, args.levels)):
        return int(Exit.INTERRUPTED)
    return 0


def add_parser(sub: Any) -> None:
    d = sub.add_parser("dashboard", help="the live dashboard of a running agent, from its control plane")
    d.add_argument("url", help="the agent's HTTP control plane, e.g. http://127.0.0.1:8901 (agenthft run --control)")
    d.add_argument("--token", help="a control-plane token (default: $AGENTHFT_TOKEN); read-only is enough")
    d.add_argument("--refresh", type=float, default=0.25, help="seconds between frames")
    d.add_argument("--levels", type=int, default=3, choices=range(1, 21), metavar="1..20", help="book levels shown")
    d.set_defaults(func=cmd_dashboard)
