"""Recorded data replayed into the matching engine, so strategies meet liquidity nobody here
wrote. Any source: it reads normalised rows (`market.events`: Binance, Tardis, Databento,
Hyperliquid, our recordings), several markets in one time-ordered stream.

Queue model (documented in docs/market.md):
- The recorded book is the liquidity of the `replay` account. After every applied message, the
  replay account's quantity at each changed price is set to the recorded quantity: an increase
  joins the back of the queue; a decrease is taken from the replay account's newest orders at
  that price (cancels come from the back, which favours an agent queued there).
- An agent's passive order therefore queues behind all the recorded quantity at its price when
  it arrived, and ahead of what is added later.
- A recorded trade at the touch first eats the replay orders ahead of an agent's order at that
  price; what is left executes against the agent (the `replay-taker` account sends an IOC at
  that price). Trades away from the touch do not fill agents (their price was not the best).
- An agent's marketable order takes the replay liquidity like any order and consumes it until
  the recording refreshes that level.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from agenthft.book import L2Book
from agenthft.market.cache import EventCache
from agenthft.market.events import CLEAR, F_LAST, LEVEL, TRADE, Events
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import ReplayReport
from agenthft.matching import MatchingEngine, text_to_cash
from agenthft.model import OrderType, Side

REPLAY, TAKER = "replay", "replay-taker"


class EventReplay:
    """Feeds normalised rows into `engine`, one recorded message per step."""

    def __init__(self, engine: MatchingEngine, events: Events) -> None:
        self.engine = engine
        self.events = events
        self.markets = [i.market for i in events.markets]
        for inst in events.markets:
            if inst.market not in engine.markets:
                engine.add_market(inst)
            for acct in (REPLAY, TAKER):
                for asset in (inst.base, inst.quote):
                    engine.deposit(acct, asset, text_to_cash("1000000000000"))
        #: the recorded book per market, rebuilt from the rows (what the replay account must show)
        self.books = {m: L2Book(m) for m in self.markets}
        self._levels: dict[tuple[str, Side, int], list[str]] = {}  # replay order ids per level, oldest first
        self._n = 0
        self.now_ns = 0
        self.time_offset_ns = 0  # added to recorded times (a live venue maps them onto the wall clock)
        self.seq = 0  # the source's sequence number of the message just applied (Binance: `u`)

    @property
    def market(self) -> str:
        return self.markets[0]

    # --- the replay account's levels -------------------------------------------------------
    def set_level(self, market: str, side: Side, price: int, target: int) -> None:
        key = (market, side, price)
        e, t = self.engine, self.now_ns
        order = e.order
        ids: list[str] = []
        current = 0  # what the replay account still shows there (one lookup per order)
        for oid in self._levels.get(key, ()):
            o = order(REPLAY, oid)
            if o is not None:
                ids.append(oid)
                current += o.remaining
        if target > current:
            self._n += 1
            oid = f"{market}-r{self._n}"  # several markets share the engine and the account
            e.submit(REPLAY, oid, market, side, target - current, price, OrderType.LIMIT, 0, t)
            if e.order(REPLAY, oid) is not None:  # rested (a crossing part may have traded with an agent)
                ids.append(oid)
        elif target < current:
            cut = current - target
            for oid in reversed(list(ids)):  # newest first: cancels come from the back
                o = e.order(REPLAY, oid)
                if o is None:
                    continue
                take = min(cut, o.remaining)
                e.reduce(REPLAY, oid, take, t)
                cut -= take
                if e.order(REPLAY, oid) is None:
                    ids.remove(oid)
                if not cut:
                    break
        if ids:
            self._levels[key] = ids
        else:
            self._levels.pop(key, None)

    def _clear(self, market: str) -> None:
        for key in [k for k in self._levels if k[0] == market]:
            self.set_level(market, key[1], key[2], 0)
        self.books[market].clear()

    def _on_trade(self, market: str, price: int, qty: int, maker_side: Side) -> None:
        """A recorded trade: eat replay orders ahead of an agent at the touch, then fill the agent."""
        m = self.engine.markets[market]
        book = m.bids if maker_side is Side.BUY else m.asks
        level = book.levels.get(price)
        if level is None or book.best_price() != price:
            return
        queue = [o for o in level.queue if o.alive]
        if not any(o.account not in (REPLAY, TAKER) for o in queue):
            return  # no agent here: the recorded levels alone keep the replay levels right
        left = qty
        for o in queue:
            if o.account not in (REPLAY, TAKER):
                break
            take = min(left, o.remaining)
            self.engine.reduce(REPLAY, o.order_id, take, self.now_ns)
            left -= take
            if not left:
                return
        self._n += 1
        taker_side = maker_side.opposite
        self.engine.submit(
            TAKER, f"{market}-t{self._n}", market, taker_side, left, price, OrderType.IOC, 0, self.now_ns
        )

    # --- stepping ---------------------------------------------------------------------------------
    def steps(self) -> Iterator[tuple[int, str, str]]:
        """Apply the rows message by message; yields (recorded ns, market, "book" | "trade")."""
        c = self.events.columns
        ts, mk, kind, side, price, qty, seq, flags = (
            c[k] for k in ("ts_local", "market", "kind", "side", "price", "qty", "seq", "flags")
        )
        n = len(ts)
        i = 0
        while i < n:
            market = self.markets[mk[i]]
            self.now_ns = ts[i] + self.time_offset_ns
            book = self.books[market]
            what = "trade" if kind[i] == TRADE else "book"
            changed: dict[tuple[Side, int], int] = {}
            while True:
                k = kind[i]
                if k == LEVEL:
                    s = Side.BUY if side[i] > 0 else Side.SELL
                    (book.set_bid if side[i] > 0 else book.set_ask)(price[i], qty[i])
                    changed[(s, price[i])] = qty[i]
                elif k == CLEAR:
                    self._clear(market)
                    changed.clear()
                elif k == TRADE and side[i]:
                    # the maker is on the other side of the aggressor
                    self._on_trade(market, price[i], qty[i], Side.SELL if side[i] > 0 else Side.BUY)
                self.seq = seq[i]
                i += 1
                if flags[i - 1] & F_LAST or i >= n:
                    break
            for (s, p), q in changed.items():  # the message whole: its new levels, then the engine's
                self.set_level(market, s, p, q)
            yield ts[i - 1], market, what


def verify_engine_replay(paths: Sequence[str | Path], cache: EventCache | None = None) -> ReplayReport:
    """Binance captures: with no agent trading, the engine's book (replay liquidity only) must
    equal every bookTicker whose `u` equals an applied depth message's `u` (the rows keep it).
    `cache`: the rows from the columnar cache when they are there (the check is the engine's)."""
    from agenthft.market.sources import load_events

    events = load_events(paths, cache=cache)
    engine = MatchingEngine()
    rep = EventReplay(engine, events)
    report = ReplayReport("binance-engine", [str(p) for p in paths], "engine top = bookTicker", markets=rep.markets)
    oracle = binance.TickerOracle(events.markets[0].grid, report, "engine")
    import msgspec

    from agenthft.market.feeds.capture import hftbacktest_lines

    env_dec, tick_dec = msgspec.json.Decoder(binance.Envelope), msgspec.json.Decoder(binance.BookTicker)
    for _, raw in hftbacktest_lines([str(p) for p in paths]):
        env = env_dec.decode(raw)
        if env.stream.endswith("@bookTicker"):
            oracle.on_ticker(tick_dec.decode(env.data))
    m = engine.markets[rep.market]
    started = time.perf_counter()
    for _, _, what in rep.steps():
        report.events += 1
        engine.drain()
        if what == "book":
            b, a = m.bids.best(), m.asks.best()
            oracle.on_top(rep.seq, None if b is None or a is None else (b.price, b.visible, a.price, a.visible))
    return report.finish(started)
