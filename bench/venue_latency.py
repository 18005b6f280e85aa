"""The protocol's five latency figures on loopback, plus sustained order throughput.

The venue runs in its own process (`agenthft venue`, bench/venue_bench.toml); the client
here uses picows and aiohttp. Figures (HdrHistogram p50/p99/p99.9, microseconds):
- order ack: order sent -> order_ack received (a resting limit order, cancelled after)
- fill notification: marketable IOC sent -> its fill received
- book snapshot: subscribe sent -> book_snapshot received (20 levels a side)
- REST order: POST /trading/orders -> response (keep-alive connection)
- balance query: GET /api/v1/balance -> response
The floor is a raw uvloop TCP echo of a same-size message, measured in the same run.
Throughput: 10 connections keep `window` orders in flight each for `seconds`; every order
must be answered (ack or reject). Prints JSON.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows
import uvloop
from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import ws_echo
from bench._common import emit

HERE = Path(__file__).resolve().parent
decode = msgspec.json.decode


def hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000_000, 3)


def pct(h: HdrHistogram) -> dict[str, float]:
    return {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 1) for p in (50, 99, 99.9)}


class Conn(picows.WSListener):
    """A picows client that hands each message to whoever waits for its type."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.count: dict[str, int] = {}
        self.transport: picows.WSTransport | None = None

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != picows.WSMsgType.TEXT:
            return
        msg = decode(frame.get_payload_as_bytes())
        t = msg["type"]
        self.count[t] = self.count.get(t, 0) + 1
        fut = self.waiting.pop(t, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.send(picows.WSMsgType.TEXT, data)

    async def roundtrip(self, data: bytes, reply: str) -> int:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[reply] = fut
        t0 = time.perf_counter_ns()
        self.send(data)
        await asyncio.wait_for(fut, 5)
        return time.perf_counter_ns() - t0


async def connect(ws_url: str, key: str) -> Conn:
    _, conn = await picows.ws_connect(Conn, ws_url, extra_headers={"Authorization": f"Bearer {key}"})
    assert isinstance(conn, Conn)
    for _ in range(100):
        if conn.count.get("auth_ok"):
            break
        await asyncio.sleep(0.01)
    return conn


def order(oid: str, side: str, price: str, qty: str = "0.001", kind: str = "limit") -> bytes:
    return (
        f'{{"type":"order","order_id":"{oid}","market":"BTC-PERP","side":"{side}",'
        f'"price":"{price}","qty":"{qty}","order_type":"{kind}"}}'
    ).encode()


async def latencies(ws_url: str, rest_url: str, key: str, key2: str, n: int) -> dict[str, Any]:
    a, b = await connect(ws_url, key), await connect(ws_url, key2)
    for i in range(20):  # a 20-level book each side for the snapshot figure
        await a.roundtrip(order(f"lb{i}", "buy", f"{50000 - i}"), "order_ack")
        await a.roundtrip(order(f"la{i}", "sell", f"{70000 + i}"), "order_ack")
    out: dict[str, Any] = {}
    for rep, count in (("warmup", n // 5), ("order_ack", n)):  # the warm-up pass is not reported
        h = hist()
        for i in range(count):
            h.record_value(await a.roundtrip(order(f"{rep}{i}", "buy", "40000.0"), "order_ack"))
            await a.roundtrip(f'{{"type":"cancel","order_id":"{rep}{i}"}}'.encode(), "cancel_ack")
        out[rep] = pct(h)
    del out["warmup"]
    h = hist()
    for i in range(n):
        await a.roundtrip(order(f"mk{i}", "sell", "60000.0"), "order_ack")
        h.record_value(await b.roundtrip(order(f"tk{i}", "buy", "60000.0", kind="ioc"), "fill"))
    out["fill_notification"] = pct(h)
    h = hist()
    sub = b'{"type":"subscribe","channel":"orderbook","market":"BTC-PERP","depth":20}'
    unsub = b'{"type":"unsubscribe","channel":"orderbook","market":"BTC-PERP"}'
    for _ in range(n):
        h.record_value(await b.roundtrip(sub, "book_snapshot"))
        await b.roundtrip(unsub, "unsubscribed")
    out["book_snapshot"] = pct(h)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        h = hist()
        for i in range(n // 2):
            body = {
                "market": "BTC-PERP",
                "side": "buy",
                "type": "limit",
                "qty": "0.001",
                "price": "40000",
                "client_id": f"r{i}",
            }
            t0 = time.perf_counter_ns()
            async with http.post(rest_url + "/trading/orders", json=body) as r:
                await r.read()
            h.record_value(time.perf_counter_ns() - t0)
            async with http.delete(f"{rest_url}/trading/orders/r{i}") as r:
                await r.read()
        out["rest_order"] = pct(h)
        h = hist()
        for _ in range(n // 2):
            t0 = time.perf_counter_ns()
            async with http.get(rest_url + "/api/v1/balance") as r:
                await r.read()
            h.record_value(time.perf_counter_ns() - t0)
        out["balance_query"] = pct(h)
    return out


async def throughput(ws_url: str, keys: list[str], seconds: float, window: int) -> dict[str, Any]:
    conns = [await connect(ws_url, k) for k in keys]
    sent = [0] * len(conns)
    answered = lambda c: c.count.get("order_ack", 0) + c.count.get("order_reject", 0)  # noqa: E731
    base = [answered(c) for c in conns]
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < t_end:
        for i, c in enumerate(conns):
            while sent[i] - (answered(c) - base[i]) < window:
                sent[i] += 1
                c.send(order(f"x{i}_{sent[i]}", "buy", f"{30000 + sent[i] % 5000}.0"))
        await asyncio.sleep(0)
    while sum(answered(c) - b for c, b in zip(conns, base, strict=True)) < sum(sent):
        if time.perf_counter() - t_end > 10:
            break
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - t0
    total_answered = sum(answered(c) - b for c, b in zip(conns, base, strict=True))
    return {
        "connections": len(conns),
        "window_per_connection": window,
        "orders_sent": sum(sent),
        "orders_answered": total_answered,
        "every_order_answered": total_answered == sum(sent),
        "orders_per_s": round(total_answered / elapsed),
    }


def start_venue() -> tuple[subprocess.Popen[str], str, str]:
    cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--config", str(HERE / "venue_bench.toml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ws = rest = ""
    for line in proc.stdout:
        if "websocket" in line:
            ws = line.split()[-1]
        elif "rest" in line:
            rest = line.split()[-1]
        elif "sandbox" in line:
            return proc, ws, rest
    raise RuntimeError("venue did not start")


async def register(rest_url: str, n: int) -> list[str]:
    async with aiohttp.ClientSession() as http:
        keys = []
        for i in range(n):
            async with http.post(rest_url + "/api/v1/register", json={"agent_id": f"bench{i}"}) as r:
                keys.append((await r.json())["api_key"])
        return keys


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 5000
    floor = ws_echo.measure("tcp", n)
    proc, ws_url, rest_url = start_venue()
    try:
        keys = uvloop.run(register(rest_url, 12))
        lat = uvloop.run(latencies(ws_url, rest_url, keys[0], keys[1], n))
        thr = uvloop.run(throughput(ws_url, keys[2:12], 3.0, 64))
    finally:
        proc.terminate()
        proc.wait()
    ack = lat["order_ack"]
    emit(
        "venue_latency",
        {
            "round_trips_each": n,
            "tcp_echo_floor": floor,
            "latency": lat,
            "order_ack_vs_floor": {
                "p50": round(ack["p50_us"] / floor["p50_us"], 2),
                "p99": round(ack["p99_us"] / floor["p99_us"], 2),
            },
            "article_order_ack_us": {"p50": 800, "p99": 3200},
            "throughput": thr,
        },
    )


if __name__ == "__main__":
    main()
