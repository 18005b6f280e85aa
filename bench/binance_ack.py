"""Order-ack round trip through Binance USD-M's protocol, four clients against ONE venue process
(`agenthft venue --dialect binance-usdm`, no simulated market), same run:

- ours: `connectors/binance_usdm` (the WebSocket API, signed per request, picows);
- ccxt 4.5.90 `binanceusdm.create_order_ws` (ccxt.pro, its own WebSocket API client), as shipped
  (its rate limiter on) and with the rate limiter off (ccxt's own speed);
- Binance's official SDK 18.1.0 (its WebSocket API `new_order`);
- the baseline: our own protocol (`connectors/agenthft`) to the same venue's native front.

Each client places a post-only bid far from the market and waits for the venue's answer, then
cancels it (outside the timed part), N times, one at a time, back to back (the venue's limits,
bench/venue_bench.toml, are not what is measured). Percentiles from HdrHistogram.
The goal the issue sets: ours p50 <= 1/5 of ccxt's."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench._common import emit  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def pct(h: HdrHistogram) -> dict[str, float]:
    return {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 1) for p in (50, 99, 99.9)}


class _Waiter:
    """A PortListener that resolves a future when an order's answer comes."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[int]] = {}

    def on_order_event(self, ev: Any, recv_ns: int) -> None:
        f = self.waiting.pop(getattr(ev, "order_id", ""), None)
        if f is not None and not f.done():
            f.set_result(time.perf_counter_ns())

    def on_connected(self, reconnects: int) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_book(self, *a: Any) -> None: ...
    def on_trade(self, *a: Any) -> None: ...
    def on_rtt(self, *a: Any) -> None: ...


async def port_rtt(port: Any, market: str, tick: int, n: int) -> HdrHistogram:
    from agenthft.connectors.port import OrderRequest
    from agenthft.model import OrderType, Side

    await port.instruments()
    w = _Waiter()
    await port.connect(w, [market])
    loop = asyncio.get_running_loop()
    h = HdrHistogram(1, 10_000_000_000, 3)
    try:
        for i in range(n):
            oid = f"a{time.monotonic_ns() % 10**9}x{i}"
            f = w.waiting[oid] = loop.create_future()
            t0 = time.perf_counter_ns()
            port.place(OrderRequest(oid, market, Side.BUY, 1, tick - i % 50, OrderType.POST_ONLY))
            h.record_value(await f - t0)  # (no wait_for: its task per call would be timed too)
            port.cancel(oid, market)
    finally:
        await port.close()
    return h


async def ccxt_rtt(env: dict[str, str], n: int, rate_limit: bool = True) -> HdrHistogram:
    """ccxt as shipped paces its calls (`enableRateLimit`, on by default); without it, its own speed."""
    import ccxt.pro as ccxtpro

    from agenthft.connectors.ccxt_port import point_at

    ex = ccxtpro.binanceusdm(
        {
            "apiKey": env["BINANCE_API_KEY"],
            "secret": env["BINANCE_API_SECRET"],
            "enableRateLimit": rate_limit,
            "options": {"fetchCurrencies": False},
        }
    )
    point_at(ex.urls, env["BINANCE_BASE_URL"])
    ex.urls["api"]["ws"]["ws-api"]["linear"] = env["BINANCE_WS_API_URL"]
    h = HdrHistogram(1, 10_000_000_000, 3)
    try:
        await ex.load_markets()
        sym = next(s for s, m in ex.markets.items() if m["id"] == "BTCUSDT")
        for i in range(n):
            t0 = time.perf_counter_ns()
            o = await ex.create_order_ws(sym, "limit", "buy", 0.001, 50_000 - (i % 50) / 10, {"postOnly": True})
            h.record_value(time.perf_counter_ns() - t0)
            await ex.cancel_order_ws(o["id"], sym)
    finally:
        await ex.close()
    return h


async def sdk_rtt(env: dict[str, str], n: int) -> HdrHistogram:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    cfg = ConfigurationWebSocketAPI(
        api_key=env["BINANCE_API_KEY"], api_secret=env["BINANCE_API_SECRET"], stream_url=env["BINANCE_WS_API_URL"]
    )
    client = DerivativesTradingUsdsFutures(config_ws_api=cfg)
    conn = await client.websocket_api.create_connection()
    h = HdrHistogram(1, 10_000_000_000, 3)
    try:
        for i in range(n):
            price = f"{50_000 - (i % 50) / 10:.1f}"
            t0 = time.perf_counter_ns()
            r = await conn.new_order(
                symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTX", quantity="0.001", price=price
            )
            h.record_value(time.perf_counter_ns() - t0)
            await conn.cancel_order(symbol="BTCUSDT", order_id=r.data().result.order_id)
    finally:
        with contextlib.suppress(Exception):
            await conn.close_connection(close_session=True)
    return h


async def main() -> None:
    import aiohttp

    from agenthft.connectors.agenthft import AgenthftPort
    from agenthft.connectors.binance_usdm import BinanceUsdmPort, endpoints
    from agenthft.connectors.binance_usdm.signing import Signer

    venue = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agenthft.cli",
            "venue",
            "--dialect",
            "binance-usdm",
            "--config",
            str(HERE / "venue_bench.toml"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert venue.stdout is not None
        text = ""
        while "BINANCE_STREAM_URL" not in text:
            line = venue.stdout.readline()
            if not line:
                raise RuntimeError("the venue did not start")
            text += line
        env = dict(re.findall(r"export (\w+)=(\S+)", text))
        ws, rest = re.search(r"protocol also on (\S+) and (\S+)", text).groups()  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as http, http.post(rest + "/api/v1/register", json={"agent_id": "b"}) as r:
            key = (await r.json())["api_key"]
        ours_port = BinanceUsdmPort(
            endpoints("binance-usdm@" + env["BINANCE_BASE_URL"]),
            env["BINANCE_API_KEY"],
            Signer(secret=env["BINANCE_API_SECRET"]),
            countdown_s=0,
        )
        results: dict[str, Any] = {}
        for name, run in (
            ("agenthft_protocol", lambda: port_rtt(AgenthftPort(ws, rest, key), "BTC-PERP", 500_000, N)),
            ("ours_binance_connector", lambda: port_rtt(ours_port, "BTCUSDT", 500_000, N)),
            ("ccxt_create_order_ws", lambda: ccxt_rtt(env, N)),
            ("ccxt_create_order_ws_no_rate_limiter", lambda: ccxt_rtt(env, N, rate_limit=False)),
            ("binance_sdk_ws_api", lambda: sdk_rtt(env, N)),
        ):
            results[name] = pct(await run())
        ours, ccxt_ = results["ours_binance_connector"]["p50_us"], results["ccxt_create_order_ws"]["p50_us"]
        sdk = results["binance_sdk_ws_api"]["p50_us"]
        results["ratio_ours_to_ccxt_p50"] = round(ours / ccxt_, 3)
        raw = results["ccxt_create_order_ws_no_rate_limiter"]["p50_us"]
        results["ratio_ours_to_ccxt_without_its_rate_limiter_p50"] = round(ours / raw, 3)
        results["ratio_ours_to_sdk_p50"] = round(ours / sdk, 3)
        results["ratio_ours_to_agenthft_protocol_p50"] = round(ours / results["agenthft_protocol"]["p50_us"], 2)
        emit("binance_ack", {"round_trips": N, "venue": "agenthft venue --dialect binance-usdm (own process)",
                             **results})  # fmt: skip
    finally:
        venue.terminate()
        venue.wait(10)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
