"""Paper trading: a real venue's public market data, live, and the orders filled here by the
backtest's L2 exchange model (`backtest.l2exchange`: queue-ahead by the chosen queue model,
trades at and through the price, the venue's grid and fees), with a latency model on the order
and response legs. No keys, no money. Everything else is the live agent: journal, risk, control
plane, dashboard, report.

`--venue paper:binance-usdm` (or `paper:binance-usdm-testnet`, `paper:binance-usdm@URL`,
`paper:ws://...` for an agenthft venue's feed). The feed's own latency is real (the data arrive
when they arrive); the model adds the order leg and the response leg (`--latency`, default
`colocated`'s). What a paper fill can and cannot tell: docs/paper.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from agenthft.book import Level
from agenthft.connectors.port import (
    AccountSnapshot,
    AmendRequest,
    CancelRefused,
    Caps,
    OrderEvent,
    OrderRequest,
    PortListener,
    Rejected,
    VenueLimits,
    VenuePort,
)
from agenthft.connectors.simulated.l2exchange import L2Exchange
from agenthft.connectors.simulated.latency import LatencyModel
from agenthft.market.events import ASK, BID
from agenthft.model import Instrument, Side
from agenthft.oms import VenueFill, VenueOrder


class PaperPort:
    """Fills orders locally against `feed`'s live books and trades."""

    name = "paper"
    caps = Caps(cancel_on_disconnect="local fills: orders live only in this process")

    def __init__(
        self,
        feed: VenuePort,
        latency: LatencyModel,
        queue: str = "proportional",
        maker_fee: str | None = None,
        taker_fee: str | None = None,
    ) -> None:
        self.feed = feed
        self.url = f"paper:{feed.url}"
        self.latency = latency
        self.queue = queue
        self.maker_fee, self.taker_fee = maker_fee, taker_fee
        self.exchanges: dict[str, L2Exchange] = {}
        self.instruments_by_name: dict[str, Instrument] = {}
        self.listener: PortListener | None = None
        self._last_up = self._last_down = 0.0
        self.fills: list[VenueFill] = []  # every paper fill, for the account snapshot
        self.sizes: dict[str, int] = {}  # client order id -> lots ordered (the model keeps what is left)
        self.orders_in = 0

    # --- state ----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.feed.connected

    @property
    def reconnects(self) -> int:
        return self.feed.reconnects

    @property
    def rtt_ns(self) -> int:
        return self.feed.rtt_ns

    # --- reference data ---------------------------------------------------------------------------
    async def instruments(self) -> list[Instrument]:
        out = []
        for inst in await self.feed.instruments():
            changes: dict[str, str] = {}
            if self.maker_fee is not None:
                changes["maker_fee"] = self.maker_fee
            if self.taker_fee is not None:
                changes["taker_fee"] = self.taker_fee
            out.append(_with(inst, changes))
        self.instruments_by_name = {i.market: i for i in out}
        self.exchanges = {i.market: L2Exchange(i, self.queue) for i in out}
        return out

    async def limits(self) -> VenueLimits:
        return await self.feed.limits()

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        await self.feed.connect(self, markets)

    def resubscribe(self, market: str) -> None:
        self.feed.resubscribe(market)

    # --- the feed's side (we are its listener) ---------------------------------------------------
    def on_connected(self, reconnects: int) -> None:
        if self.listener is not None:
            self.listener.on_connected(reconnects)

    def on_disconnected(self, reason: str) -> None:
        if self.listener is not None:
            self.listener.on_disconnected(reason)

    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        x = self.exchanges.get(market)
        if x is not None:
            if snapshot:
                x.clear()
            for p, q in bids:
                x.level(BID, p, q)
            for p, q in asks:
                x.level(ASK, p, q)
            if x.orders:
                out: list[OrderEvent] = []
                x.crossed_through(recv_ns, out)
                self._respond(out)
        if self.listener is not None:
            self.listener.on_book(market, bids, asks, seq, ts_ns, recv_ns, snapshot)

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None:
        x = self.exchanges.get(market)
        if x is not None:
            out: list[OrderEvent] = []
            x.trade(BID if side is Side.BUY else ASK, price, lots, recv_ns, out)
            self._respond(out)
        if self.listener is not None:
            self.listener.on_trade(market, price, lots, side, ts_ns, recv_ns)

    def on_order_event(self, ev: OrderEvent, recv_ns: int) -> None:
        pass  # the feed's own account, if it has one, is not ours to trade here

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None:
        if self.listener is not None:
            self.listener.on_rtt(rtt_ns, recv_ns)

    # --- orders: after the order latency, at the model; answers after the response latency --------
    def _later(self, last: float, delay_ns: int, fn: Any) -> float:
        """Schedule `fn` `delay_ns` from now, FIFO with the earlier ones of its leg."""
        loop = asyncio.get_running_loop()
        at = max(last, loop.time() + delay_ns / 1e9)
        loop.call_at(at, fn)
        return at

    def place(self, req: OrderRequest) -> bool:
        self.orders_in += 1
        self.sizes[req.order_id] = req.qty
        self._last_up = self._later(self._last_up, self.latency.order_ns(), lambda: self._arrive(req))
        return True

    def _arrive(self, req: OrderRequest) -> None:
        x = self.exchanges.get(req.market)
        now = time.time_ns()
        if x is None:
            self._respond([Rejected(req.order_id, "unknown_market", f"no market {req.market!r}", now)])
            return
        self._respond(x.submit(req.order_id, req.side, req.qty, req.price, req.order_type, now))

    def cancel(self, order_id: str, market: str) -> bool:
        def arrive() -> None:
            x = self.exchanges.get(market)
            now = time.time_ns()
            self._respond(x.cancel(order_id, now) if x is not None else [CancelRefused(order_id, "unknown_order", "")])

        self._last_up = self._later(self._last_up, self.latency.order_ns(), arrive)
        return True

    def cancel_all(self, market: str | None = None) -> bool:
        def arrive() -> None:
            now = time.time_ns()
            for m, x in self.exchanges.items():
                if market in (None, m):
                    self._respond(x.cancel_all(now))

        self._last_up = self._later(self._last_up, self.latency.order_ns(), arrive)
        return True

    def amend(self, req: AmendRequest) -> bool:
        return False

    def _respond(self, out: list[OrderEvent]) -> None:
        for ev in out:
            fill = getattr(ev, "fill", None)
            if isinstance(fill, VenueFill):
                self.fills.append(fill)
            self._last_down = self._later(self._last_down, self.latency.response_ns(), lambda ev=ev: self._deliver(ev))

    def _deliver(self, ev: OrderEvent) -> None:
        if self.listener is not None:
            self.listener.on_order_event(ev, time.time_ns())

    # --- the paper account -------------------------------------------------------------------------
    async def snapshot(self) -> AccountSnapshot:
        orders = []
        for m, x in self.exchanges.items():
            for o in x.orders.values():
                qty = self.sizes.get(o.order_id, o.remaining)
                orders.append(VenueOrder(o.order_id, 0, m, o.side, o.price, qty, qty - o.remaining))
        positions = {m: x.position for m, x in self.exchanges.items() if x.position}
        return AccountSnapshot(orders, list(self.fills), positions)

    async def ping(self) -> int:
        return await self.feed.ping()

    async def close(self) -> None:
        await self.feed.close()

    def drop(self) -> None:
        self.feed.drop()


def _with(inst: Instrument, changes: dict[str, str]) -> Instrument:
    import msgspec

    return msgspec.structs.replace(inst, **changes) if changes else inst
