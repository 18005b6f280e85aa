"""Cross-venue NBBO arbitrage: when one venue's bid is above another's ask by more than the
fees of both legs times a safety multiple, sell there and buy here at once, as IOCs.

Runs under a `MultiRunner` (markets `VENUE:MARKET`, one instrument on each venue, e.g.
`agenthft:BTC-PERP` and `venue-b:BTCUSDT`). Prices of the two venues are compared exactly, on a
common integer scale (their tick grids may differ); sizes are the smaller of the two tops and
`qty`, on the coarser lot grid.

Legging rule (stated, and tested): a pair is two IOCs sent together. When both are answered,
the filled quantities are compared; any difference is naked exposure on one venue, which is
closed on that same venue by an IOC at its current opposite best, `unwind_ticks` worse (paying
to be flat rather than hoping), retried on every book update until flat (an unwind under the
venue's minimum order value goes reduce-only, which venues exempt; `RiskEngine.check`; what that
venue's lot cannot express closes on a venue whose grid can); a cross
whose legs would be under either venue's minimum is left alone; no new pair starts
while a pair or an unwind is open. Every order goes through each venue's risk engine and the
multi-venue net-exposure cap; each venue's client throttle keeps it under that venue's rate
limit, and a leg the throttle refuses cancels the pair's other leg from the books if it rests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from agenthft.model import ContractMath, Instrument, OrderType, Side
from agenthft.oms import ClientOrder, VenueFill
from agenthft.strategies.base import Context, Strategy


class NbboArbParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    markets: Annotated[list[str], msgspec.Meta(description="two or more VENUE:MARKET of one instrument")] = (
        msgspec.field(default_factory=lambda: ["agenthft:BTC-PERP", "venue-b:BTCUSDT"])
    )
    qty: Annotated[str, msgspec.Meta(description="largest size per pair, base units")] = "0.01"
    fee_multiple: Annotated[
        float, msgspec.Meta(ge=0, description="act when the cross exceeds this x the two legs' taker fees")
    ] = 2.0
    cooldown_ms: Annotated[float, msgspec.Meta(ge=0, description="least time between two pairs")] = 5.0
    unwind_ticks: Annotated[int, msgspec.Meta(ge=0, description="ticks paid beyond the best to close a naked leg")] = 5


def _common(inst: Instrument, ticks: int, decimals: int) -> int:
    """`ticks` of `inst` as an integer price with `decimals` decimals (exact)."""
    g = inst.grid
    return int(ticks * g.tick_units * 10 ** (decimals - g.tick_decimals))


class NbboArb(Strategy):
    name = "nbbo-arb"
    Params = NbboArbParams

    def __init__(
        self,
        markets: list[str],
        qty: str = "0.01",
        fee_multiple: float = 2.0,
        cooldown_ms: float = 5.0,
        unwind_ticks: int = 5,
    ) -> None:
        if len(set(markets)) < 2:
            raise ValueError("nbbo-arb needs two or more markets (VENUE:MARKET)")
        self.markets = tuple(markets)
        self.qty = Decimal(qty)
        self.fee_multiple = fee_multiple
        self.cooldown_ns = int(cooldown_ms * 1e6)
        self.unwind_ticks = unwind_ticks
        self.pair: list[ClientOrder] = []
        self.unwinding: ClientOrder | None = None
        self.next_ns = self.next_unwind_ns = 0
        self.pairs = self.unwinds = 0
        self.small = 0  # crosses left alone: a leg would be under its venue's minimum order value
        self.residual = Decimal(0)  # naked exposure last found that no venue's grid or minimum can trade
        self.decimals = 0
        self.math: dict[str, ContractMath] = {}

    def on_start(self, ctx: Context) -> None:
        insts = [ctx.instruments[m] for m in self.markets]
        if len({i.base for i in insts}) != 1:
            raise ValueError(f"nbbo-arb markets must share one base asset: {[i.base for i in insts]}")
        self.decimals = max(i.grid.tick_decimals for i in insts)
        self.math = {m: ContractMath(ctx.instruments[m]) for m in self.markets}

    # --- exposure ---------------------------------------------------------------------------
    def _net(self, ctx: Context) -> dict[str, Decimal]:
        """Position per market in base units."""
        out = {}
        for m in self.markets:
            p = ctx.oms.positions.get(m)
            out[m] = Decimal(ctx.instruments[m].lots_to_qty(p.size)) if p is not None and p.size else Decimal(0)
        return out

    def _busy(self) -> bool:
        return any(o.live for o in self.pair) or (self.unwinding is not None and self.unwinding.live)

    def on_book(self, ctx: Context, market: str) -> None:
        if market not in self.markets or self._busy():
            return
        net = self._net(ctx)
        total = sum(net.values(), Decimal(0))
        if total:
            if ctx.now_ns >= self.next_unwind_ns:
                self._unwind(ctx, net, total)
            return
        if ctx.now_ns < self.next_ns:
            return
        self._look(ctx)

    def _look(self, ctx: Context) -> None:
        best_bid: tuple[int, str, int, int] | None = None  # (common price, market, ticks, lots)
        best_ask: tuple[int, str, int, int] | None = None
        for m in self.markets:
            book = ctx.books.get(m)
            top = book.top() if book is not None else None
            if top is None:
                continue
            inst = ctx.instruments[m]
            bid, bq, ask, aq = top
            b, a = _common(inst, bid, self.decimals), _common(inst, ask, self.decimals)
            if best_bid is None or b > best_bid[0]:
                best_bid = (b, m, bid, bq)
            if best_ask is None or a < best_ask[0]:
                best_ask = (a, m, ask, aq)
        if best_bid is None or best_ask is None or best_bid[1] == best_ask[1] or best_bid[0] <= best_ask[0]:
            return
        sell_m, buy_m = best_bid[1], best_ask[1]
        si, bi = ctx.instruments[sell_m], ctx.instruments[buy_m]
        fees = Decimal(si.taker_fee) + Decimal(bi.taker_fee)
        edge = Decimal(best_bid[0] - best_ask[0]) / Decimal(best_ask[0])
        if edge <= fees * Decimal(self.fee_multiple):
            return
        size = min(self.qty, Decimal(si.lots_to_qty(best_bid[3])), Decimal(bi.lots_to_qty(best_ask[3])))
        step = max(Decimal(si.lot_size), Decimal(bi.lot_size))
        size = (size // step) * step
        if size <= 0:
            return
        sell_lots, buy_lots = si.qty_to_lots(str(size)), bi.qty_to_lots(str(size))
        if not (
            self.math[sell_m].meets_min(best_bid[2], sell_lots) and self.math[buy_m].meets_min(best_ask[2], buy_lots)
        ):
            # one leg alone would be refused (by risk or the venue) and leave the other naked
            self.small += 1
            return
        sell = ctx.submit(sell_m, Side.SELL, sell_lots, best_bid[2], OrderType.IOC)
        buy = ctx.submit(buy_m, Side.BUY, buy_lots, best_ask[2], OrderType.IOC)
        self.pair = [o for o in (sell, buy) if o is not None]
        self.pairs += 1
        self.next_ns = ctx.now_ns + self.cooldown_ns
        # a refused leg: the other IOC fills or not on its own; any naked fill is unwound above

    def _unwind(self, ctx: Context, net: dict[str, Decimal], total: Decimal) -> None:
        """Close the naked exposure on the venue that holds most of it, crossing its spread. What
        that venue's lot grid cannot express (a leg filled in part on a finer-grained venue left
        less than its lot) is closed on the next venue whose grid can, at that venue's minimum
        order value; exposure no venue can trade is left, counted in `residual`."""
        side = Side.SELL if total > 0 else Side.BUY
        for m in sorted(net, key=lambda k: net[k] * side.sign):  # the largest position our way first
            inst, book = ctx.instruments[m], ctx.books.get(m)
            best = None if book is None else book.best_bid() if side is Side.SELL else book.best_ask()
            if best is None:
                continue
            reduces = net[m] * side.sign < 0
            size = min(abs(total), abs(net[m])) if reduces else abs(total)
            lots = int(size // Decimal(inst.lot_size))  # the whole lots of it
            price = best - self.unwind_ticks if side is Side.SELL else best + self.unwind_ticks
            if lots <= 0 or (not reduces and not self.math[m].meets_min(price, lots)):
                continue  # (under the minimum, a reducing order goes reduce-only: RiskEngine.check)
            self.unwinding = ctx.submit(m, side, lots, price, OrderType.IOC)
            self.unwinds += 1
            self.residual = Decimal(0)
            if self.unwinding is None:  # refused (risk, throttle): try again after the cooldown
                self.next_unwind_ns = ctx.now_ns + self.cooldown_ns
            return
        self.residual = total
        self.next_unwind_ns = ctx.now_ns + self.cooldown_ns

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        pass  # exposure is read from the positions on the next book update
