"""Latency arbitrage, primary -> secondary: trade the lagging market before it reprices.

The article's strategy done right: the follower's fair price is the leader's mid (converted to
the follower's ticks) plus a basis kept online (a slow EWMA of follower mid - leader mid, so a
lag does not teach it); act only when the follower's touch is past that fair price by more than
the taker fee plus a margin, and only on a fresh leader move (within `fresh_ms` of it: older, the
follower has likely repriced); IOC orders over the WebSocket (never REST market orders); take the
profit back to flat once the follower has repriced; every order through risk, a position cap here
too. Floats inform the decision (a fair value); prices and sizes on the wire are ticks and lots.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.model import OrderType, Side
from agenthft.strategies.base import Context, Strategy


class LatencyArbParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    leader: Annotated[str, msgspec.Meta(description="the price-setting market (e.g. the spot)")] = "BTC-USDC"
    follower: Annotated[str, msgspec.Meta(description="the lagging market traded (e.g. the perp)")] = "BTC-PERP"
    qty: Annotated[str, msgspec.Meta(description="order size on the follower, decimal")] = "0.001"
    margin_bps: Annotated[float, msgspec.Meta(ge=0, description="required edge beyond the taker fee, bp")] = 1.0
    fresh_ms: Annotated[float, msgspec.Meta(gt=0, description="act only this soon after a leader move")] = 5.0
    max_position: Annotated[str, msgspec.Meta(description="largest follower position either way, decimal")] = "0.02"
    exit_ticks: Annotated[int, msgspec.Meta(ge=0, description="flatten once the follower is this close to fair")] = 2
    basis_alpha: Annotated[
        float, msgspec.Meta(ge=0, le=1, description="EWMA weight of each follower-leader basis sample")
    ] = 0.001


class LatencyArb(Strategy):
    """Trades the lagging market on fresh moves of the leading one, past fees (the article's arb)."""

    name = "latency-arb"
    Params = LatencyArbParams

    def __init__(
        self,
        leader: str,
        follower: str,
        qty: str,
        margin_bps: float,
        fresh_ms: float,
        max_position: str,
        exit_ticks: int,
        basis_alpha: float,
    ) -> None:
        if leader == follower:
            raise ValueError("leader and follower must be two markets")
        self.markets = (leader, follower)
        self.leader, self.follower = leader, follower
        self._decimals = (qty, max_position)
        self.margin = margin_bps / 10_000
        self.fresh_ns = int(fresh_ms * 1e6)
        self.exit_ticks, self.alpha = exit_ticks, basis_alpha
        self.lots = self.max_lots = 0
        self.ratio = 1.0  # follower ticks per leader tick
        self.fee = 0.0
        self.basis: float | None = None  # follower mid - leader mid, in follower ticks
        self._leader_mid: float | None = None
        self.moved_ns = -(10**18)  # when the leader's mid last changed
        self.entries = self.exits = 0
        self._blocked_ns = 0

    def on_start(self, ctx: Context) -> None:
        lead, fol = ctx.instruments[self.leader], ctx.instruments[self.follower]
        self.lots, self.max_lots = (fol.qty_to_lots(x) for x in self._decimals)
        if self.lots <= 0:
            raise ValueError(f"qty is below one lot of {self.follower}")
        self.ratio = float(lead.tick_size) / float(fol.tick_size)
        self.fee = float(fol.taker_fee)

    def fair(self, ctx: Context) -> float | None:
        """The follower's fair price in its ticks: the leader's mid plus the basis."""
        mid = ctx.books[self.leader].mid()
        return None if mid is None else mid * self.ratio + (self.basis or 0.0)

    def on_book(self, ctx: Context, market: str) -> None:
        lead_mid = ctx.books[self.leader].mid()
        if market == self.leader and lead_mid is not None and lead_mid != self._leader_mid:
            self._leader_mid = lead_mid
            self.moved_ns = ctx.now_ns
        book = ctx.books[self.follower]
        bid, ask = book.best_bid(), book.best_ask()
        if lead_mid is None or bid is None or ask is None:
            return
        mid = (bid + ask) / 2
        sample = mid - lead_mid * self.ratio
        self.basis = sample if self.basis is None else self.basis + self.alpha * (sample - self.basis)
        fair = lead_mid * self.ratio + self.basis
        pos = ctx.oms.positions.get(self.follower)
        size = pos.size if pos else 0
        if ctx.oms.open_orders(self.follower) or ctx.now_ns < self._blocked_ns:
            return  # one IOC at a time (its answer comes first); a denial waits a millisecond
        edge = fair * (self.fee + self.margin)  # ticks the move must beat: the taker fee + margin
        fresh = ctx.now_ns - self.moved_ns <= self.fresh_ns
        if fresh and fair - ask >= edge and size + self.lots <= self.max_lots:
            order, entry = (Side.BUY, self.lots, ask), True
        elif fresh and bid - fair >= edge and size - self.lots >= -self.max_lots:
            order, entry = (Side.SELL, self.lots, bid), True
        elif size and abs(fair - mid) <= self.exit_ticks:  # repriced: take the profit back to flat
            order, entry = ((Side.SELL, abs(size), bid) if size > 0 else (Side.BUY, abs(size), ask)), False
        else:
            return
        side, lots, price = order
        if ctx.submit(self.follower, side, lots, price, OrderType.IOC) is None:
            self._blocked_ns = ctx.now_ns + 1_000_000  # denied (risk, throttle): not on every update
        elif entry:
            self.entries += 1
        else:
            self.exits += 1
