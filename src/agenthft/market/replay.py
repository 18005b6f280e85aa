"""Replay of recorded Binance captures into the matching engine, so strategies meet liquidity
nobody here wrote.

Queue model (documented in docs/market.md):
- The recorded book is the liquidity of the `replay` account. After every applied depth update,
  the replay account's quantity at each changed price is set to the recorded quantity: an
  increase joins the back of the queue; a decrease is taken from the replay account's newest
  orders at that price (cancels come from the back, which favours an agent queued there).
- An agent's passive order therefore queues behind all the recorded quantity at its price when
  it arrived, and ahead of what is added later.
- A recorded trade at the touch first eats the replay orders ahead of an agent's order at that
  price; what is left executes against the agent (the `replay-taker` account sends an IOC at
  that price). Trades away from the touch do not fill agents (their price was not the best).
- An agent's marketable order takes the replay liquidity like any order and consumes it until
  the recording refreshes that level.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec

from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import ReplayReport, hftbacktest_lines
from agenthft.matching import MatchingEngine, text_to_cash
from agenthft.model import Instrument, OrderType, Side

REPLAY, TAKER = "replay", "replay-taker"


class BinanceReplay:
    """Feeds one market's capture (chained files) into `engine`, one capture line per step."""

    def __init__(
        self, engine: MatchingEngine, paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None
    ) -> None:
        self.engine = engine
        self.inst, futures = binance.instrument_for(paths, instruments)
        if self.inst.market not in engine.markets:
            engine.add_market(self.inst)
        self.market = self.inst.market
        self.sync = binance.BinanceDepthSync(self.inst, futures)
        self.grid = self.inst.grid
        for acct in (REPLAY, TAKER):
            for asset in (self.inst.base, self.inst.quote):
                engine.deposit(acct, asset, text_to_cash("1000000000000"))
        self._lines = hftbacktest_lines([str(p) for p in paths])
        self._env = msgspec.json.Decoder(binance.Envelope)
        self._depth = msgspec.json.Decoder(binance.DepthUpdate)
        self._tick = msgspec.json.Decoder(binance.BookTicker)
        self._trade = msgspec.json.Decoder(binance.Trade)
        self._levels: dict[tuple[Side, int], list[str]] = {}  # replay order ids per level, oldest first
        self._n = 0
        self.now_ns = 0
        self.time_offset_ns = 0  # added to capture times (a live venue maps them onto the wall clock)
        self.applied_u: int | None = None  # `u` of the depth update just applied

    # --- the replay account's levels -------------------------------------------------------
    def _remaining(self, ids: list[str]) -> int:
        total = 0
        for oid in ids:
            o = self.engine.order(REPLAY, oid)
            if o is not None:
                total += o.remaining
        return total

    def set_level(self, side: Side, price: int, target: int) -> None:
        key = (side, price)
        ids = [oid for oid in self._levels.get(key, []) if self.engine.order(REPLAY, oid) is not None]
        current = self._remaining(ids)
        e, t = self.engine, self.now_ns
        if target > current:
            self._n += 1
            oid = f"{self.market}-r{self._n}"  # several replays may share the engine and the account
            e.submit(REPLAY, oid, self.market, side, target - current, price, OrderType.LIMIT, 0, t)
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
        self._levels[key] = ids

    def _on_trade(self, price: int, qty: int, maker_side: Side) -> None:
        """A recorded trade: eat replay orders ahead of an agent at the touch, then fill the agent."""
        m = self.engine.markets[self.market]
        book = m.bids if maker_side is Side.BUY else m.asks
        level = book.levels.get(price)
        if level is None or book.best_price() != price:
            return
        queue = [o for o in level.queue if o.alive]
        if not any(o.account not in (REPLAY, TAKER) for o in queue):
            return  # no agent here: the depth stream alone keeps the replay levels right
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
            TAKER, f"{self.market}-t{self._n}", self.market, taker_side, left, price, OrderType.IOC, 0, self.now_ns
        )

    # --- stepping ---------------------------------------------------------------------------------
    def steps(self) -> Iterator[tuple[int, str, object]]:
        """Process the capture line by line; yields (local ns, kind, payload) after each."""
        g = self.grid
        for ns, raw in self._lines:
            self.now_ns = ns + self.time_offset_ns
            env = self._env.decode(raw)
            if not env.data:
                if env.lastUpdateId >= 0:
                    applied = self.sync.on_snapshot(env.lastUpdateId, env.bids, env.asks)
                    book = self.sync.book
                    for p, q in book.bids():
                        self.set_level(Side.BUY, p, q)
                    for p, q in book.asks():
                        self.set_level(Side.SELL, p, q)
                    for upd in applied:
                        self.applied_u = upd.u
                    yield ns, "snapshot", env.lastUpdateId
                continue
            stream = env.stream
            if "@depth" in stream:
                upd = self._depth.decode(env.data)
                if self.sync.on_depth(upd):
                    book = self.sync.book
                    for p, _ in binance.parse_levels(g, upd.b):
                        self.set_level(Side.BUY, p, book.bid_qty(p))
                    for p, _ in binance.parse_levels(g, upd.a):
                        self.set_level(Side.SELL, p, book.ask_qty(p))
                    self.applied_u = upd.u
                    yield ns, "depth", upd
            elif stream.endswith("@bookTicker"):
                yield ns, "ticker", self._tick.decode(env.data)
            elif stream.endswith("@trade"):
                tr = self._trade.decode(env.data)
                maker = Side.BUY if tr.m else Side.SELL  # m: the buyer is the maker
                self._on_trade(g.price_to_ticks(tr.p), g.qty_to_lots(tr.q), maker)
                yield ns, "trade", tr


def verify_engine_replay(paths: Sequence[str | Path]) -> ReplayReport:
    """With no agent trading, the engine's book (replay liquidity only) must equal every
    bookTicker whose u equals an applied depth update's u."""
    import time

    engine = MatchingEngine()
    rep = BinanceReplay(engine, paths)
    report = ReplayReport("binance-engine", [str(p) for p in paths], "engine top = bookTicker", markets=[rep.market])
    oracle = binance.TickerOracle(rep.grid, report, "engine")
    m = engine.markets[rep.market]

    def engine_top() -> binance.Top | None:
        b, a = m.bids.best(), m.asks.best()
        return None if b is None or a is None else (b.price, b.visible, a.price, a.visible)

    started = time.perf_counter()
    for _, kind, payload in rep.steps():
        report.events += 1
        engine.drain()
        if kind in ("depth", "snapshot") and rep.applied_u is not None:
            oracle.on_top(rep.applied_u, engine_top())
        elif kind == "ticker":
            assert isinstance(payload, binance.BookTicker)
            oracle.on_ticker(payload)
    return report.finish(started)
