"""Microstructure detectors over what an agent sees on the wire: L2 level changes (price, new
visible total, venue time) and public trades (price, qty, aggressor, time). No order ids, no
labels. Pure and synchronous: integers (ticks, lots), time as int ns.

`MarketSignals` holds one market's detectors. Feed it in wire order: `on_trade` for each trade,
`on_level` for each changed level after the book replica applied it (a trade's own level change
arrives after the trade, as on every venue). Detections are `SignalEvent`s in `events` (drain
them) and each carries the article's suggested response.

The rules (thresholds in `SignalConfig`, docs/signals.md):
- large order: an increase of a level by >= `large_multiple` x the market's typical increase
  (an EWMA learned online, after `warmup_adds` increases);
- spoof (flash order): a large order pulled within `spoof_max_ms` having traded less than
  `spoof_max_traded` of its size -> fade the side it pretended to support;
- absorption: a large order still resting after `absorb_min_ms` and traded against -> follow;
- iceberg: a level refilled right after a hit (its quantity back up in the same step as the
  trade, or a trade larger than the level showed) `iceberg_min_refills` times, or once with the
  volume traded there over `iceberg_ratio` x the largest quantity it displayed (the article's
  rule) -> expect more size at that price;
- cancel cascade: `cascade_min_cancels` pulls (not explained by trades) of one price within
  `cascade_depth_ticks` of the touch, within `cascade_window_ms`, with no adds there between
  them -> a move against that side is near: pull quotes.
"""

from __future__ import annotations

import itertools
from collections import deque

import msgspec

from agenthft.book import L2Book
from agenthft.model import Side
from agenthft.signals.config import SignalConfig

BUY, SELL = Side.BUY, Side.SELL

#: The article's response to each detection.
RESPONSE = {
    "spoof": "fade",  # the displayed pressure is fake: do not follow it
    "absorption": "follow",  # real demand/supply is soaking up flow
    "iceberg": "follow",  # hidden size at that price: it will hold
    "cancel_cascade": "pull_quotes",  # liquidity is leaving: a drop through that side is near
}


class SignalEvent(msgspec.Struct, frozen=True):
    kind: str  # spoof | absorption | iceberg | cancel_cascade
    market: str
    side: Side  # the side of the book the pattern is on
    price: int  # ticks
    ts_ns: int
    value: float  # the measured quantity (lots of the large order, traded/displayed ratio, pulls)
    response: str


class _Big:
    __slots__ = ("absorbed", "qty", "t0", "traded")

    def __init__(self, qty: int, t0: int) -> None:
        self.qty, self.t0, self.traded, self.absorbed = qty, t0, 0, False


class _LevelLife:
    __slots__ = ("flagged", "hidden", "max_display", "refills", "traded")

    def __init__(self) -> None:
        self.max_display = self.traded = self.refills = self.hidden = 0
        self.flagged = False


class MarketSignals:
    """One market's detectors and inputs for a market maker (imbalance, microprice, flow, vol)."""

    def __init__(self, market: str, book: L2Book, config: SignalConfig | None = None) -> None:
        c = config or SignalConfig()
        self.market, self.book, self.config = market, book, c
        self.events: list[SignalEvent] = []
        self._qty: tuple[dict[int, int], dict[int, int]] = ({}, {})  # visible qty per level: bids, asks
        self._pending: tuple[dict[int, int], dict[int, int]] = ({}, {})  # traded, not yet seen in a level change
        self._life: tuple[dict[int, _LevelLife], dict[int, _LevelLife]] = ({}, {})
        self._big: tuple[dict[int, _Big], dict[int, _Big]] = ({}, {})
        self._pulls: tuple[dict[int, deque[int]], dict[int, deque[int]]] = ({}, {})  # price -> pull times
        self._last_cascade = [-(10**18), -(10**18)]
        self.typical = 0.0
        self.adds = 0
        self._large = c.large_multiple
        self._spoof_ns, self._absorb_ns = int(c.spoof_max_ms * 1e6), int(c.absorb_min_ms * 1e6)
        self._cascade_ns = int(c.cascade_window_ms * 1e6)
        self._flow: deque[tuple[int, int]] = deque()  # (ts, signed qty: + buyer-initiated)
        self._flow_ns = int(c.flow_window_ms * 1e6)
        self._mids: deque[tuple[int, float]] = deque()
        self._vol_ns = int(c.vol_window_ms * 1e6)

    def reset(self) -> None:
        """A fresh snapshot replaced the book: level histories no longer apply (typical size and
        flow are kept)."""
        for d in (*self._qty, *self._pending, *self._life, *self._big, *self._pulls):
            d.clear()

    # --- inputs ---------------------------------------------------------------------------
    def on_trade(self, price: int, qty: int, aggressor: Side, ts_ns: int) -> None:
        """A public trade: it consumed the resting side opposite the aggressor at `price`."""
        i = 1 if aggressor is BUY else 0  # resting side index: a buy lifts asks
        pend = self._pending[i]
        pend[price] = pend.get(price, 0) + qty
        life = self._life[i].get(price)
        if life is not None:
            life.traded += qty
        big = self._big[i].get(price)
        if big is not None:
            big.traded += qty
            if not big.absorbed and ts_ns - big.t0 >= self._absorb_ns:
                big.absorbed = True
                side = BUY if i == 0 else SELL
                self._emit("absorption", side, price, ts_ns, big.qty)
        flow = self._flow
        flow.append((ts_ns, qty if aggressor is BUY else -qty))
        while flow and ts_ns - flow[0][0] > self._flow_ns:
            flow.popleft()

    def on_level(self, side: Side, price: int, qty: int, ts_ns: int) -> None:
        """A level's new visible total (0: removed), after the book replica applied it."""
        i = 0 if side is BUY else 1
        levels = self._qty[i]
        prev = levels.get(price, 0)
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)
        traded = self._pending[i].pop(price, 0)
        expected = prev - traded
        life = self._life[i].get(price)
        if life is None:
            life = self._life[i][price] = _LevelLife()
            life.traded = traded
        if qty > expected:
            if traded:  # back up in the same step as the hit (even above a trade larger than shown): a refill
                life.refills += 1
                if traded > prev:
                    life.hidden += traded - prev  # executed beyond what the level showed
            else:
                self._on_add(i, side, price, qty - max(expected, 0), ts_ns)
        elif qty < expected:
            self._on_pull(i, side, price, expected - qty, qty, ts_ns)
        if qty > life.max_display:
            life.max_display = qty
        c = self.config
        if (
            not life.flagged
            and life.max_display
            and life.refills
            and (life.refills >= c.iceberg_min_refills or life.traded > c.iceberg_ratio * life.max_display)
        ):
            life.flagged = True
            self._emit("iceberg", side, price, ts_ns, life.traded / life.max_display)
        if not qty:
            self._life[i].pop(price, None)
            self._big[i].pop(price, None)
            if price in self._pulls[i] and ts_ns - self._pulls[i][price][-1] > self._cascade_ns:
                del self._pulls[i][price]
        self._sample_mid(ts_ns)

    # --- detectors --------------------------------------------------------------------------
    def _on_add(self, i: int, side: Side, price: int, added: int, ts_ns: int) -> None:
        if self.adds >= self.config.warmup_adds and added >= self._large * self.typical:
            self._big[i][price] = _Big(added, ts_ns)
        else:  # large orders do not teach what typical is
            a = self.config.typical_alpha if self.adds else 1.0
            self.typical += a * (added - self.typical)
            self.adds += 1
        self._pulls[i].pop(price, None)  # liquidity came back at that price: not a cascade

    def _on_pull(self, i: int, side: Side, price: int, pulled: int, left: int, ts_ns: int) -> None:
        big = self._big[i].get(price)
        if big is not None and pulled * 5 >= big.qty * 4:  # (most of) the large order left
            del self._big[i][price]
            if ts_ns - big.t0 <= self._spoof_ns and big.traded <= self.config.spoof_max_traded * big.qty:
                self._emit("spoof", side, price, ts_ns, big.qty)
            return
        if big is not None:  # others leaving a level a large order dominates: not a cascade
            return
        best = self.book.best_bid() if i == 0 else self.book.best_ask()
        if best is None or abs(best - price) > self.config.cascade_depth_ticks:
            return
        pulls = self._pulls[i].get(price)  # pulls of this near-touch price since it last grew
        if pulls is None:
            pulls = self._pulls[i][price] = deque()
        pulls.append(ts_ns)
        while pulls and ts_ns - pulls[0] > self._cascade_ns:
            pulls.popleft()
        if len(pulls) >= self.config.cascade_min_cancels and ts_ns - self._last_cascade[i] > self._cascade_ns:
            self._last_cascade[i] = ts_ns
            self._emit("cancel_cascade", side, price, ts_ns, len(pulls))

    def _emit(self, kind: str, side: Side, price: int, ts_ns: int, value: float) -> None:
        self.events.append(SignalEvent(kind, self.market, side, price, ts_ns, float(value), RESPONSE[kind]))

    # --- inputs a market maker needs ------------------------------------------------------------
    def _sample_mid(self, ts_ns: int) -> None:
        mid = self.book.mid()
        if mid is None:
            return
        mids = self._mids
        if not mids or mids[-1][1] != mid:
            mids.append((ts_ns, mid))
        while len(mids) > 2 and ts_ns - mids[0][0] > self._vol_ns:
            mids.popleft()

    def imbalance(self, levels: int = 5) -> float | None:
        """(bid qty - ask qty) / total over the best `levels` levels, in [-1, 1]."""
        return self.book.imbalance(levels)

    def microprice(self) -> float | None:
        return self.book.microprice()

    def trade_flow_imbalance(self) -> float | None:
        """(buyer- - seller-initiated volume) / total over `flow_window_ms`."""
        total = sum(abs(q) for _, q in self._flow)
        return sum(q for _, q in self._flow) / total if total else None

    def volatility_ticks(self) -> float:
        """Root mean square of mid changes (ticks) over `vol_window_ms`."""
        mids = [m for _, m in self._mids]
        if len(mids) < 2:
            return 0.0
        d = [b - a for a, b in itertools.pairwise(mids)]
        return float((sum(x * x for x in d) / len(d)) ** 0.5)

    def drain(self) -> list[SignalEvent]:
        out, self.events = self.events, []
        return out
