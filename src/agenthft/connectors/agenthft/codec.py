"""agenthft's protocol (docs/protocol.md) turned into the core's events: the venue's messages
(msgspec Structs, prices and quantities as numbers) onto each instrument's grid, and the core's
requests into the protocol's messages. Shared by the live connector (`port.py`) and the
simulator backtest, which speaks the same protocol to the venue's core without a socket."""

from __future__ import annotations

from agenthft.connectors.port import (
    Ack,
    CancelRefused,
    Done,
    Filled,
    Funding,
    OrderRequest,
    PortListener,
    Rejected,
)
from agenthft.model import Instrument
from agenthft.model.fixed import to_scaled
from agenthft.model.money import RATE_DECIMALS, cash
from agenthft.oms import VenueFill
from agenthft.protocol import messages as pm


class Codec:
    """Decodes one venue's messages for `listener` with the grids of `instruments`."""

    def __init__(self, listener: PortListener, instruments: dict[str, Instrument]) -> None:
        self.listener = listener
        self.instruments = instruments
        #: the market of each order sent and not yet ended (a cancel ack does not name it)
        self.markets: dict[str, str] = {}
        #: per market: its instrument and the grid values of the numbers seen lately (a book's
        #: prices and sizes repeat: a dict lookup instead of an exact decimal conversion each)
        self._memo: dict[str, tuple[Instrument, dict[float, int], dict[float, int]]] = {}

    def feed(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        """One decoded venue message: market data to `on_book` / `on_trade`, the account's
        order events to `on_order_event`. Ticker, subscribe and error replies are not events."""
        t = type(msg)
        lst = self.listener
        if t is pm.BookUpdate or t is pm.BookSnapshot:
            assert isinstance(msg, (pm.BookUpdate, pm.BookSnapshot))
            inst = self.instruments.get(msg.market)
            if inst is None:
                return
            memo = self._memo.get(msg.market)
            if memo is None or memo[0] is not inst or len(memo[1]) + len(memo[2]) > MEMO_SIZE:
                memo = self._memo[msg.market] = (inst, {}, {})
            bids = _on_grid(msg.bids, inst, memo[1], memo[2])
            asks = _on_grid(msg.asks, inst, memo[1], memo[2])
            lst.on_book(msg.market, bids, asks, msg.seq, msg.ts_ns, recv_ns, t is pm.BookSnapshot)
        elif t is pm.TradeMsg:
            assert isinstance(msg, pm.TradeMsg)
            inst = self.instruments.get(msg.market)
            if inst is not None:
                lst.on_trade(msg.market, inst.price_to_ticks(msg.price), inst.qty_to_lots(msg.qty), msg.side,
                             msg.ts_ns, recv_ns)  # fmt: skip
        elif t is pm.FillMsg:
            assert isinstance(msg, pm.FillMsg)
            inst = self.instruments.get(msg.market)
            if inst is not None:
                remaining = inst.qty_to_lots(msg.remaining_qty)
                if not remaining:
                    self.markets.pop(msg.order_id, None)
                lst.on_order_event(Filled(self.fill(msg), msg.liquidity, remaining), recv_ns)
        elif t is pm.OrderAck:
            assert isinstance(msg, pm.OrderAck)
            lst.on_order_event(Ack(msg.order_id, msg.venue_order_id, msg.ts_ns), recv_ns)
        elif t is pm.CancelAck:
            assert isinstance(msg, pm.CancelAck)
            market = self.markets.pop(msg.order_id, None)
            inst = self.instruments.get(market) if market is not None else None
            left = inst.qty_to_lots(msg.remaining_qty) if inst is not None else -1
            lst.on_order_event(Done(msg.order_id, msg.reason, left, msg.ts_ns), recv_ns)
        elif t is pm.OrderReject:
            assert isinstance(msg, pm.OrderReject)
            self.markets.pop(msg.order_id, None)
            lst.on_order_event(Rejected(msg.order_id, msg.code, msg.reason, msg.ts_ns), recv_ns)
        elif t is pm.CancelReject:
            assert isinstance(msg, pm.CancelReject)
            lst.on_order_event(CancelRefused(msg.order_id, msg.code, msg.reason), recv_ns)
        elif t is pm.FundingMsg:
            assert isinstance(msg, pm.FundingMsg)
            inst = self.instruments.get(msg.market)
            if inst is not None:
                ev = Funding(
                    msg.market,
                    cash(msg.amount),
                    to_scaled(msg.rate, RATE_DECIMALS),
                    round(msg.mark_price / float(inst.tick_size)),  # a mark may lie off the tick grid
                    inst.qty_to_lots(msg.position_qty),
                    msg.currency,
                    msg.ts_ns,
                )
                lst.on_order_event(ev, recv_ns)

    def fill(self, msg: pm.FillMsg) -> VenueFill:
        return self.fill_of(msg, self.instruments)

    @staticmethod
    def fill_of(msg: pm.FillMsg, instruments: dict[str, Instrument]) -> VenueFill:
        """A venue fill (WebSocket message, or the same fields from REST /fills) on the grid."""
        inst = instruments[msg.market]
        return VenueFill(
            msg.order_id,
            msg.fill_id,
            msg.market,
            msg.side,
            inst.qty_to_lots(msg.fill_qty),
            inst.price_to_ticks(msg.fill_price),
            cash(msg.fee),
            msg.ts_ns,
        )


#: numbers remembered per market before the memo starts again (bounds it under any feed)
MEMO_SIZE = 1 << 16


def _on_grid(
    levels: list[tuple[float, float]], inst: Instrument, ticks: dict[float, int], lots: dict[float, int]
) -> list[tuple[int, int]]:
    """Levels of JSON numbers as (ticks, lots), exactly as `Grid.price_to_ticks` / `qty_to_lots`
    give them (an off-grid number raises as there, and is not remembered)."""
    out = []
    for p, q in levels:
        t = ticks.get(p)
        if t is None:
            t = ticks[p] = inst.grid.price_to_ticks(p)
        n = lots.get(q)
        if n is None:
            n = lots[q] = inst.grid.qty_to_lots(q)
        out.append((t, n))
    return out


def order_message(req: OrderRequest, inst: Instrument) -> dict[str, object]:
    """The protocol's `order` message for a request on `inst`'s grid."""
    g = inst.grid
    msg: dict[str, object] = {
        "type": "order",
        "order_id": req.order_id,
        "market": req.market,
        "side": req.side.value,
        "qty": g.lots_to_qty(req.qty),
        "order_type": req.order_type.value,
    }
    if req.price is not None:
        msg["price"] = g.ticks_to_price(req.price)
    return msg


def cancel_message(order_id: str) -> dict[str, object]:
    return {"type": "cancel", "order_id": order_id}


def cancel_all_message(market: str | None) -> dict[str, object]:
    msg: dict[str, object] = {"type": "cancel_all"}
    if market:
        msg["market"] = market
    return msg
