"""Tick-to-trade of the agent runtime.

In-process: raw `book_update` bytes -> decode (msgspec) -> L2 book -> strategy (the quoter,
which re-quotes on every update: one cancel and one order) -> OMS -> journal queue -> encode ->
write on a real socket (a socketpair drained by a thread). Timed from before the decode to
after the last write, per update, into an HdrHistogram.

End to end on loopback: the venue in its own process; another client moves the book; the
agent's quoter reacts; measured from the agent receiving the book_update to the ack of the
order it sent in reaction. Prints JSON.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agenthft.connectors.agenthft import AgenthftPort
from agenthft.connectors.agenthft.codec import Codec, cancel_all_message, cancel_message, order_message
from agenthft.connectors.port import Ack, Caps, OrderEvent, OrderRequest
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.protocol import messages as pm
from agenthft.risk import RiskConfig
from agenthft.runtime import GcPolicy, Journal, Runner
from agenthft.runtime.runner import Observer
from agenthft.strategies import Context, Strategy
from bench import venue_latency
from bench._common import emit

#: Risk stays on (every check runs); only the circuit breaker's rate is set above the bench's rate.
BENCH_RISK = RiskConfig(max_orders_per_s=10**9)
PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


class Reactor(Strategy):
    """One decision per book update: a new post-only bid 100 ticks under the best bid, written
    first, then the cancel of the previous one. Its first write is the tick-to-trade."""

    name = "reactor"

    def __init__(self, market: str) -> None:
        self.markets = (market,)
        self.market = market
        self.last: ClientOrder | None = None
        self.best: int | None = None

    def on_book(self, ctx: Context, market: str) -> None:
        best = ctx.books[market].best_bid()
        own = self.last.price if self.last is not None and self.last.live else None
        changed, self.best = best != self.best, best
        if best is None or not changed or best == own:  # react to others moving the touch
            return
        prev = self.last
        self.last = ctx.submit(market, Side.BUY, 1, best - 100, OrderType.POST_ONLY)
        if prev is not None and prev.live:
            ctx.cancel(prev.order_id)


class SocketPort:
    """The agenthft connector's codec over a raw socket (no WebSocket framing): decodes frames
    onto the grid like the live port, encodes orders with the same code, writes them to a real
    socket, and notes when the first write completed (the end of tick-to-trade)."""

    name = "bench"
    url = "socket"
    caps = Caps()
    connected = True
    reconnects = 0
    rtt_ns = 0

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.first_write_ns = 0
        self._encode = pm.encoder.encode
        self.codec: Codec | None = None

    def _send(self, msg: dict[str, object]) -> bool:
        self.sock.sendall(self._encode(msg))
        if not self.first_write_ns:
            self.first_write_ns = time.perf_counter_ns()
        return True

    def place(self, req: OrderRequest) -> bool:
        return self._send(order_message(req, PERP))

    def cancel(self, order_id: str, market: str) -> bool:
        return self._send(cancel_message(order_id))

    def cancel_all(self, market: str | None = None) -> bool:
        return self._send(cancel_all_message(market))

    def resubscribe(self, market: str) -> None:
        pass


def pct(h: HdrHistogram) -> dict[str, float]:
    return {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 2) for p in (50, 99, 99.9)}


async def in_process(n: int, gc_disable: bool, journal: bool = True) -> dict[str, Any]:
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sink = os.fork()  # a separate process reads the other end: no GIL shared with the writer
    if sink == 0:
        a.close()
        total = 0
        while data := b.recv(1 << 16):
            total += len(data)
        os._exit(0)
    b.close()
    with tempfile.TemporaryDirectory() as tmp:
        policy = GcPolicy(disable_in_hot_loop=gc_disable)
        port = SocketPort(a)
        runner = Runner(
            Reactor("BTC-PERP"),
            port,  # type: ignore[arg-type]  # the order path only: no streams, no account
            journal_path=Path(tmp) / "j.sqlite",
            orders_per_s=1e9,
            cancels_per_s=1e9,
            gc_policy=policy,
            risk=BENCH_RISK,
        )
        runner.instruments = {"BTC-PERP": PERP}
        runner.oms.add_instrument(PERP)
        runner.risk.add_instrument(PERP)
        from agenthft.book import L2Book

        runner.books = {"BTC-PERP": L2Book("BTC-PERP")}
        port.codec = codec = Codec(runner, {"BTC-PERP": PERP})
        runner.journal = Journal(Path(tmp) / "j.sqlite") if journal else None
        decode = pm.server_decoder.decode
        snap = pm.encoder.encode(
            pm.BookSnapshot(
                "BTC-PERP", 0, [(59990.0 - i, 1.0) for i in range(20)], [(60010.0 + i, 1.0) for i in range(20)], 0
            )
        )
        codec.feed(decode(snap), time.time_ns())
        runner.started = True  # what Runner.start() does before the strategy may act
        policy.after_warmup(time.time_ns())

        # alternate the best bid between two prices: the reactor re-quotes on every update; each
        # frame carries a fresh venue timestamp (risk's stale-data guard is on, as in production)
        def frame(i: int) -> bytes:
            level = [(59990.5, 1.0 if i % 2 == 0 else 0.0)]
            return pm.encoder.encode(pm.BookUpdate("BTC-PERP", i + 1, level, [], time.time_ns()))

        t0 = 0
        h = HdrHistogram(1, 10_000_000_000, 3)
        full = HdrHistogram(1, 10_000_000_000, 3)  # raw frame in -> first order written, decode included
        runner.telemetry.h["tick_to_trade"].reset()
        for i in range(n):
            raw = frame(i)  # encoded outside the timed path
            port.first_write_ns = 0
            pace(t0 if i else 0)
            t0 = time.perf_counter_ns()
            codec.feed(decode(raw), time.time_ns())
            h.record_value(time.perf_counter_ns() - t0)
            if port.first_write_ns:
                full.record_value(port.first_write_ns - t0)
            for o in list(runner.oms.live.values()):  # the venue's acks, outside the timed path
                if o.status.value == "pending_new":
                    runner.oms.on_ack(o.order_id, 1, 0)
                elif o.status.value == "pending_cancel":
                    runner.oms.on_cancel_ack(o.order_id, 0)
            if i % 64 == 0:
                policy.maybe_collect(time.time_ns() + 10**9)  # quiet period between bursts
        first = runner.telemetry.h["tick_to_trade"]
        orders = first.get_total_count()
        if not orders:
            raise RuntimeError(f"no order was sent; risk said: {[str(e) for e in list(runner.denied)[:3]]}")
        if runner.journal is not None:
            runner.journal.flush()
            runner.journal.close()
    a.close()
    os.waitpid(sink, 0)
    policy.restore()
    return {
        "updates": n,
        "orders_sent": orders,
        "gc": "off in the hot loop, young-gen collection every 64 updates" if gc_disable else "automatic",
        "journal": journal,
        "frame_to_first_order_written": pct(full),
        "runner_tick_to_trade": pct(first),
        "whole_update_incl_cancel": pct(h),
    }


#: Updates are paced this far apart in both the floor and the full path, so that each write
#: meets the reading process in the same state (a tight loop keeps it awake, which makes its
#: wake-up cost vanish from the floor's writes but not from the slower full path's).
PACE_NS = 100_000


def pace(start_ns: int) -> None:
    while time.perf_counter_ns() - start_ns < PACE_NS:
        pass


def floor(n: int) -> dict[str, Any]:
    """The floor of the same path: the same frame through decode + grid conversion + book apply
    + encode of an order + socket write, with nothing else (no strategy, risk, OMS, journal)."""
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sink = os.fork()
    if sink == 0:
        a.close()
        while b.recv(1 << 16):
            pass
        os._exit(0)
    b.close()
    from agenthft.book import L2Book

    book = L2Book("BTC-PERP")
    g = PERP.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    decode, encode = pm.server_decoder.decode, pm.encoder.encode
    book.load_snapshot([(pt(59990.0 - i), 1000) for i in range(20)], [(pt(60010.0 + i), 1000) for i in range(20)], 0)
    h = HdrHistogram(1, 10_000_000_000, 3)
    send = a.sendall
    t0 = 0
    for i in range(n):
        level = [(59990.5, 1.0 if i % 2 == 0 else 0.0)]
        raw = pm.encoder.encode(pm.BookUpdate("BTC-PERP", i + 1, level, [], time.time_ns()))
        pace(t0 if i else 0)
        t0 = time.perf_counter_ns()
        msg = decode(raw)
        assert isinstance(msg, pm.BookUpdate)
        book.apply([(pt(p), ql(q)) for p, q in msg.bids], [(pt(p), ql(q)) for p, q in msg.asks], msg.seq)
        best = book.best_bid()
        assert best is not None
        order = {
            "type": "order",
            "order_id": f"f-{i}",
            "market": "BTC-PERP",
            "side": "buy",
            "qty": g.lots_to_qty(1),
            "order_type": "post_only",
            "price": g.ticks_to_price(best - 100),
        }
        send(encode(order))
        h.record_value(time.perf_counter_ns() - t0)
    a.close()
    os.waitpid(sink, 0)
    return {"updates": n, "decode_book_encode_write": pct(h)}


def risk_check_cost(n: int) -> dict[str, Any]:
    """ns per pre-trade check, every control on, against a 20-level book and a live OMS."""
    from agenthft.book import L2Book
    from agenthft.oms import OrderManager
    from agenthft.risk import RiskEngine

    cfg = RiskConfig(
        max_orders_per_s=10**9,
        position_limit="1000000",
        total_position_limit="2000000",
        max_order_notional="100000",
        price_band_bps=500,
        max_open_orders=1000,
        daily_loss_limit="1000",
    )
    risk = RiskEngine(cfg, [PERP])
    oms = OrderManager([PERP])
    book = L2Book("BTC-PERP")
    book.load_snapshot([(599900 - i, 1000) for i in range(20)], [(600100 + i, 1000) for i in range(20)], 0)
    for i in range(4):  # a quoter's few live orders
        oms.new_order("BTC-PERP", Side.BUY, 1, 599000 + i)
    now = time.time_ns()
    risk.on_market_data("BTC-PERP", now, now)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for i in range(n):
            risk.check("BTC-PERP", Side.BUY, 1, 599800, now + i, book, oms)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return {"checks": n, "ns_per_check_best_of_5": round(best)}


async def end_to_end(ws_url: str, rest_url: str, keys: list[str], n: int) -> dict[str, Any]:
    runner = Runner(Reactor("BTC-PERP"), AgenthftPort(ws_url, rest_url, keys[0]), orders_per_s=1e6, risk=BENCH_RISK)
    sent_by: dict[str, int] = {}
    h = HdrHistogram(1, 10_000_000_000, 3)
    submit = runner.submit

    def traced_submit(*args: Any, **kw: Any) -> Any:
        o = submit(*args, **kw)
        if o is not None:
            sent_by[o.order_id] = runner._recv_ns
        return o

    runner.submit = traced_submit  # type: ignore[method-assign]

    class Acks(Observer):
        def on_received(self, runner: Runner, ev: OrderEvent, recv_ns: int) -> None:
            if type(ev) is Ack:
                t = sent_by.pop(ev.order_id, 0)
                if t:
                    h.record_value(recv_ns - t)

    runner.observers.append(Acks())
    await runner.start()
    mover = await venue_latency.connect(ws_url, keys[1])
    for i in range(n):  # another participant adds and removes a better bid: the reactor follows
        mover.send(venue_latency.order(f"mv{i}", "buy", "59999.9"))
        await asyncio.sleep(0.002)
        mover.send(f'{{"type":"cancel","order_id":"mv{i}"}}'.encode())
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.1)
    await runner.stop()
    return {"book_changes": 2 * n, "reactions_acked": h.get_total_count(), "book_change_to_ack": pct(h)}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 20_000
    base = floor(n)
    inproc = [uvloop.run(in_process(n, gc_disable)) for gc_disable in (False, True)]
    inproc.append(uvloop.run(in_process(n, False, journal=False)))
    fl = base["decode_book_encode_write"]
    for r in inproc:
        full = r["frame_to_first_order_written"]
        r["ratio_to_floor"] = {k: round(full[k] / fl[k], 2) for k in ("p50_us", "p99_us")}
    proc, ws_url, rest_url = venue_latency.start_venue()
    try:
        keys = uvloop.run(venue_latency.register(rest_url, 2))
        e2e = uvloop.run(end_to_end(ws_url, rest_url, keys, min(n // 10, 1000)))
    finally:
        proc.terminate()
        proc.wait()
    emit(
        "tick_to_trade",
        {
            "floor": base,
            "in_process": inproc,
            "goal_ratio_to_floor": {"p50_us": 1.5, "p99_us": 2.0},
            "risk": risk_check_cost(100_000),
            "article_expects_us": "1000-10000",
            "loopback": e2e,
        },
    )


if __name__ == "__main__":
    main()
