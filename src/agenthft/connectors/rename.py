"""A strategy's market names on a venue that lists the markets under other names: `BTC-PERP`
for Binance's `BTCUSDT` (an alias of the instrument). The core sees the strategy's names; the
venue keeps its own; this wrapper translates both ways at the edge, for any port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from agenthft.book import Level
from agenthft.connectors.port import (
    AccountSnapshot,
    AmendRequest,
    Filled,
    Funding,
    OrderEvent,
    OrderRequest,
    PortListener,
    VenueLimits,
    VenuePort,
)
from agenthft.model import Instrument, Side


def renames(instruments: Sequence[Instrument], wanted: Sequence[str]) -> dict[str, str]:
    """{strategy's name: venue's name} for each wanted name that is an instrument's alias, not
    a market's own name."""
    own = {i.market for i in instruments}
    out: dict[str, str] = {}
    for name in wanted:
        if name in own:
            continue
        for inst in instruments:
            if inst.market not in out.values() and inst.matches(name):
                out[name] = inst.market
                break
    return out


class RenamedPort:
    """`port` with some markets under the strategy's names (`names`: core name -> venue name)."""

    def __init__(self, port: VenuePort, names: dict[str, str]) -> None:
        self.port = port
        self.to_venue = dict(names)
        self.to_core = {v: k for k, v in names.items()}
        self.name, self.url, self.caps = port.name, port.url, port.caps
        self.listener: PortListener | None = None

    def __getattr__(self, attr: str) -> Any:  # what a connector exposes beyond the port
        return getattr(self.port, attr)

    @property
    def connected(self) -> bool:
        return self.port.connected

    @property
    def reconnects(self) -> int:
        return self.port.reconnects

    @property
    def rtt_ns(self) -> int:
        return self.port.rtt_ns

    def _core(self, market: str) -> str:
        return self.to_core.get(market, market)

    def _venue(self, market: str) -> str:
        return self.to_venue.get(market, market)

    async def instruments(self) -> list[Instrument]:
        out = []
        for inst in await self.port.instruments():
            core = self._core(inst.market)
            if core != inst.market:
                aliases = tuple(dict.fromkeys((inst.market, *(a for a in inst.aliases if a != core))))
                inst = msgspec.structs.replace(inst, market=core, aliases=aliases)
            out.append(inst)
        return out

    async def limits(self) -> VenueLimits:
        return await self.port.limits()

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        await self.port.connect(self, [self._venue(m) for m in markets])

    def resubscribe(self, market: str) -> None:
        self.port.resubscribe(self._venue(market))

    def place(self, req: OrderRequest) -> bool:
        return self.port.place(msgspec.structs.replace(req, market=self._venue(req.market)))

    def cancel(self, order_id: str, market: str) -> bool:
        return self.port.cancel(order_id, self._venue(market))

    def cancel_all(self, market: str | None = None) -> bool:
        return self.port.cancel_all(None if market is None else self._venue(market))

    def amend(self, req: AmendRequest) -> bool:
        return self.port.amend(msgspec.structs.replace(req, market=self._venue(req.market)))

    async def snapshot(self) -> AccountSnapshot:
        snap = await self.port.snapshot()
        orders = [msgspec.structs.replace(o, market=self._core(o.market)) for o in snap.open_orders]
        fills = [msgspec.structs.replace(f, market=self._core(f.market)) for f in snap.fills]
        positions = {self._core(m): v for m, v in snap.positions.items()}
        return AccountSnapshot(orders, fills, positions, snap.balances, snap.consistent)

    async def ping(self) -> int:
        return await self.port.ping()

    async def close(self) -> None:
        await self.port.close()

    def drop(self) -> None:
        self.port.drop()

    # --- the venue's side, renamed for the core ---------------------------------------------------
    def on_connected(self, reconnects: int) -> None:
        if self.listener is not None:
            self.listener.on_connected(reconnects)

    def on_disconnected(self, reason: str) -> None:
        if self.listener is not None:
            self.listener.on_disconnected(reason)

    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        if self.listener is not None:
            self.listener.on_book(self._core(market), bids, asks, seq, ts_ns, recv_ns, snapshot)

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None:
        if self.listener is not None:
            self.listener.on_trade(self._core(market), price, lots, side, ts_ns, recv_ns)

    def on_order_event(self, ev: OrderEvent, recv_ns: int) -> None:
        if isinstance(ev, Filled):
            ev = Filled(msgspec.structs.replace(ev.fill, market=self._core(ev.fill.market)), ev.liquidity, ev.remaining)
        elif isinstance(ev, Funding):
            ev = msgspec.structs.replace(ev, market=self._core(ev.market))
        if self.listener is not None:
            self.listener.on_order_event(ev, recv_ns)

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None:
        if self.listener is not None:
            self.listener.on_rtt(rtt_ns, recv_ns)
