"""`agenthft probe WS_URL | VENUE`: how far is this venue, and what does that latency allow?

An agenthft venue (`ws://...`): N pings over the WebSocket (one at a time, each timed from write
to pong with a monotonic clock) and N `GET /health` over one keep-alive REST connection. Any
other venue (`binance-usdm`, `binance-usdm-testnet`, `ccxt:EXCHANGE`, `hyperliquid`, `...@URL`):
N round trips of the venue port's cheapest request (`VenuePort.ping`: Binance's server time,
ccxt's `fetch_time`), no keys needed. Percentiles from HdrHistograms; the one-way latency (half
the median round trip) placed in the article's infrastructure table, with the strategies the
article says are viable there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import msgspec
import picows
from hdrh.histogram import HdrHistogram

from agenthft.cli.errors import CliError, Exit
from agenthft.tiers import classify


class _Pinger(picows.WSListener):
    def __init__(self) -> None:
        self.waiting: asyncio.Future[None] | None = None

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        waiting = self.waiting
        pong = frame.msg_type == picows.WSMsgType.TEXT and b'"pong"' in frame.get_payload_as_bytes()
        if pong and waiting is not None and not waiting.done():
            waiting.set_result(None)


def _pct(h: HdrHistogram) -> dict[str, float]:
    out = {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 1) for p in (50, 99, 99.9)}
    out["max_us"] = round(h.get_max_value() / 1000, 1)
    out["jitter_us"] = round((h.get_value_at_percentile(99) - h.get_value_at_percentile(50)) / 1000, 1)
    return out


async def _ws(url: str, n: int, timeout_s: float) -> HdrHistogram:
    transport, connected = await asyncio.wait_for(picows.ws_connect(_Pinger, url), timeout_s)
    assert isinstance(connected, _Pinger)
    listener = connected
    h = HdrHistogram(1, 60_000_000_000, 3)
    try:
        for i in range(n):
            listener.waiting = asyncio.get_running_loop().create_future()
            t0 = time.perf_counter_ns()
            transport.send(picows.WSMsgType.TEXT, msgspec.json.encode({"type": "ping", "id": i}))
            await asyncio.wait_for(listener.waiting, timeout_s)
            h.record_value(time.perf_counter_ns() - t0)
    finally:
        transport.disconnect()
    return h


async def _rest(url: str, n: int, timeout_s: float) -> HdrHistogram:
    import aiohttp

    h = HdrHistogram(1, 60_000_000_000, 3)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            async with http.get(url.rstrip("/") + "/health") as r:
                await r.read()
            h.record_value(time.perf_counter_ns() - t0)
    return h


async def probe_port(spec: str, n: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """N round trips of a venue port's `ping` (its cheapest request)."""
    from agenthft.cli.run import make_port
    from agenthft.connectors.port import VenueAuthError, VenueUnreachable

    port = make_port(spec, None, None, public=True)
    h = HdrHistogram(1, 60_000_000_000, 3)
    try:
        await asyncio.wait_for(port.instruments(), timeout_s)
        for _ in range(n):
            h.record_value(max(1, await asyncio.wait_for(port.ping(), timeout_s)))
    except (VenueUnreachable, VenueAuthError, OSError, TimeoutError) as e:
        raise CliError(Exit.VENUE_UNREACHABLE, f"no answer from {spec}: {str(e) or type(e).__name__}") from None
    finally:
        await port.close()
    out: dict[str, Any] = {"venue": spec, "pings": n, "request": type(port).ping.__doc__ or "", "rtt": _pct(h)}
    one_way_ms = h.get_value_at_percentile(50) / 2e6
    tier = classify(one_way_ms)
    out["one_way_ms"] = round(one_way_ms, 4)
    out["tier"] = {"name": tier.name, "article_jitter": tier.jitter, "viable_strategies": tier.viable}
    return out


async def probe(ws_url: str, rest_url: str | None, n: int, timeout_s: float = 5.0) -> dict[str, Any]:
    try:
        ws = await _ws(ws_url, n, timeout_s)
    except (OSError, TimeoutError, picows.WSError) as e:
        raise CliError(Exit.VENUE_UNREACHABLE, f"no WebSocket ping answer from {ws_url}: {str(e) or 'timed out'}") from None
    out: dict[str, Any] = {"ws_url": ws_url, "pings": n, "ws_rtt": _pct(ws)}
    if rest_url:
        try:
            out["rest_rtt"] = _pct(await _rest(rest_url, n, timeout_s))
        except Exception as e:
            raise CliError(Exit.VENUE_UNREACHABLE, f"no REST answer from {rest_url}/health: {e}") from None
    one_way_ms = ws.get_value_at_percentile(50) / 2e6
    tier = classify(one_way_ms)
    out["one_way_ms"] = round(one_way_ms, 4)
    out["tier"] = {"name": tier.name, "article_jitter": tier.jitter, "viable_strategies": tier.viable}
    return out


def cmd_probe(args: argparse.Namespace) -> int:
    import uvloop

    if args.n < 1:
        raise CliError(Exit.USAGE, "-n must be at least 1")
    if not args.url.startswith(("ws://", "wss://", "agenthft:")):
        res = uvloop.run(probe_port(args.url, args.n))
        if args.json:
            print(json.dumps(res))
            return 0
        r, t = res["rtt"], res["tier"]
        print(f"{res['venue']}: {args.n} round trips of {res['request'].strip().rstrip('.')}")
        rtt = f"p50 {r['p50_us']} us, p99 {r['p99_us']} us, p99.9 {r['p99.9_us']} us, jitter {r['jitter_us']} us"
        print(f"  round trip {rtt}")
        where = f"{t['name']} in the article's table (jitter there {t['article_jitter']})"
        print(f"  one way ~{res['one_way_ms']} ms: {where}")
        print(f"  viable: {t['viable_strategies']}")
        return 0
    res = uvloop.run(probe(args.url, args.rest, args.n))
    if args.json:
        print(json.dumps(res))
        return 0
    w = res["ws_rtt"]
    print(f"{res['ws_url']}: {args.n} WebSocket pings")
    print(
        f"  round trip p50 {w['p50_us']} us, p99 {w['p99_us']} us, p99.9 {w['p99.9_us']} us, jitter {w['jitter_us']} us"
    )
    if "rest_rtt" in res:
        r = res["rest_rtt"]
        ratio = r["p50_us"] / max(w["p50_us"], 0.1)
        print(f"  REST /health p50 {r['p50_us']} us, p99 {r['p99_us']} us ({ratio:.1f}x the WebSocket)")
    t = res["tier"]
    print(f"  one way ~{res['one_way_ms']} ms: {t['name']} in the article's table (jitter there {t['article_jitter']})")
    print(f"  viable: {t['viable_strategies']}")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("probe", help="ping a venue: RTT percentiles, the article's infrastructure tier, what is viable")
    p.add_argument(
        "url",
        help="an agenthft venue's WebSocket URL (ws://127.0.0.1:8765/trading) or a venue: binance-usdm, "
        "binance-usdm-testnet, ccxt:EXCHANGE, NAME@http://HOST:PORT",
    )
    p.add_argument("--rest", help="also time GET /health on this REST base URL")
    p.add_argument("-n", type=int, default=200, help="round trips of each kind")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=cmd_probe)
