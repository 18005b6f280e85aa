"""Simulated participants. Each acts through the matching engine's own order API, as any
account would; manipulators write ground-truth labels of what they did."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Protocol

import msgspec

from agenthft.market.sim.fair import FairValue
from agenthft.matching import MatchingEngine
from agenthft.model import OrderType, Side


class Episode(msgspec.Struct, frozen=True):
    """A labelled manipulation: what, where, which orders, when (ns)."""

    kind: str  # spoof | iceberg
    market: str
    account: str
    order_ids: list[str]
    start_ns: int
    end_ns: int
    side: Side


class Simulation(Protocol):
    """What a participant acts on (`simulation.Simulation` is one): the engine, the fair values,
    the clock's scheduler and the ground-truth labels."""

    engine: MatchingEngine
    fair: dict[str, FairValue]
    labels: list[Episode]

    def at(self, t_ns: int, fn: Callable[[int], None]) -> None: ...

    def fair_for(self, p: Participant, now_ns: int) -> int: ...


class Participant:
    """Acts every `interval_ns` (with jitter); `act` returns nothing, effects go to the engine."""

    lag_ns = 0

    def __init__(self, account: str, market: str, interval_ns: int, seed: int) -> None:
        self.account = account
        self.market = market
        self.interval_ns = interval_ns
        self.rng = random.Random(seed)
        self._n = 0

    def next_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def next_time(self, now_ns: int) -> int:
        return now_ns + max(1, int(self.rng.expovariate(1 / self.interval_ns)))

    def act(self, sim: Simulation, now_ns: int) -> None:
        raise NotImplementedError

    def open_episodes(self, now_ns: int) -> list[Episode]:
        """Manipulations still under way (labelled as ending now): a run that stops mid-episode
        still has ground truth for it."""
        return []


class MarketMaker(Participant):
    """Quotes `levels` a side around the fair value, `half_spread` ticks from it, and
    re-quotes when the fair value moves."""

    def __init__(
        self,
        account: str,
        market: str,
        half_spread: int,
        size: int,
        levels: int = 3,
        interval_ns: int = 2_000_000,
        seed: int = 1,
        lag_ns: int = 0,
    ) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.lag_ns = lag_ns  # reprices from the fair value as it was lag_ns ago (a slow venue's makers)
        self.half_spread, self.size, self.levels = half_spread, size, levels
        self.quoted_at: int | None = None
        self.live: list[str] = []

    def act(self, sim: Simulation, now_ns: int) -> None:
        fair = sim.fair_for(self, now_ns)
        if fair == self.quoted_at:
            return
        e = sim.engine
        for oid in self.live:
            e.cancel(self.account, oid, now_ns)
        self.live = []
        book = e.markets[self.market]
        for i in range(self.levels):
            for side, price in ((Side.BUY, fair - self.half_spread - i), (Side.SELL, fair + self.half_spread + i)):
                # after a jump, others' stale quotes may sit where ours would go: quote one tick
                # inside their touch rather than leave our side empty
                if side is Side.BUY:
                    other = book.asks.best_price()
                    price = price if other is None else min(price, other - 1 - i)
                else:
                    other = book.bids.best_price()
                    price = price if other is None else max(price, other + 1 + i)
                oid = self.next_id("mm")
                if e.submit(
                    self.account, oid, self.market, side, self.size, max(1, price), OrderType.POST_ONLY, 0, now_ns
                ):
                    self.live.append(oid)
        self.quoted_at = fair


class NoiseTaker(Participant):
    """Random-side IOC orders that cross the spread: uninformed flow."""

    def __init__(self, account: str, market: str, max_size: int, interval_ns: int = 20_000_000, seed: int = 2) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.max_size = max_size

    def act(self, sim: Simulation, now_ns: int) -> None:
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        qty = self.rng.randint(1, self.max_size)
        sim.engine.submit(self.account, self.next_id("nz"), self.market, side, qty, None, OrderType.MARKET, 0, now_ns)


class Spoofer(Participant):
    """Places a large order a few ticks behind the touch and cancels it 10-50 ms later."""

    def __init__(self, account: str, market: str, size: int, interval_ns: int = 200_000_000, seed: int = 3) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.size = size

    def act(self, sim: Simulation, now_ns: int) -> None:
        e = sim.engine
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        book = e.markets[self.market]
        touch = (book.bids if side is Side.BUY else book.asks).best_price()
        if touch is None:
            return
        price = touch - 2 if side is Side.BUY else touch + 2
        oid = self.next_id("sp")
        if e.submit(self.account, oid, self.market, side, self.size, max(1, price), OrderType.POST_ONLY, 0, now_ns):
            life = self.rng.randint(10_000_000, 50_000_000)
            sim.at(now_ns + life, lambda t: self._cancel(sim, oid, side, now_ns, t))

    def _cancel(self, sim: Simulation, oid: str, side: Side, start: int, now_ns: int) -> None:
        sim.engine.cancel(self.account, oid, now_ns)
        sim.labels.append(Episode("spoof", self.market, self.account, [oid], start, now_ns, side))


class Iceberg(Participant):
    """Works a large order at the touch showing only `display` of `total`."""

    def __init__(
        self, account: str, market: str, total: int, display: int, interval_ns: int = 500_000_000, seed: int = 4
    ) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.total, self.display = total, display
        self.live: tuple[str, Side, int] | None = None

    def act(self, sim: Simulation, now_ns: int) -> None:
        e = sim.engine
        if self.live is not None:
            oid, side, start = self.live
            if e.order(self.account, oid) is not None:
                return  # still working
            sim.labels.append(Episode("iceberg", self.market, self.account, [oid], start, now_ns, side))
            self.live = None
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        book = e.markets[self.market]
        touch = (book.bids if side is Side.BUY else book.asks).best_price()
        if touch is None:
            return
        oid = self.next_id("ice")
        if e.submit(self.account, oid, self.market, side, self.total, touch, OrderType.LIMIT, self.display, now_ns):
            self.live = (oid, side, now_ns)

    def open_episodes(self, now_ns: int) -> list[Episode]:
        if self.live is None:
            return []
        oid, side, start = self.live
        return [Episode("iceberg", self.market, self.account, [oid], start, now_ns, side)]


class InformedTrader(Participant):
    """Sees the fair value and takes liquidity when the touch is `edge` ticks or more away from it."""

    def __init__(
        self, account: str, market: str, edge: int, size: int, interval_ns: int = 50_000_000, seed: int = 5
    ) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.edge, self.size = edge, size

    def act(self, sim: Simulation, now_ns: int) -> None:
        fair = sim.fair_for(self, now_ns)
        book = sim.engine.markets[self.market]
        ask, bid = book.asks.best_price(), book.bids.best_price()
        if ask is not None and fair - ask >= self.edge:
            sim.engine.submit(
                self.account, self.next_id("in"), self.market, Side.BUY, self.size, fair, OrderType.IOC, 0, now_ns
            )
        elif bid is not None and bid - fair >= self.edge:
            sim.engine.submit(
                self.account, self.next_id("in"), self.market, Side.SELL, self.size, fair, OrderType.IOC, 0, now_ns
            )


class CascadeBeforeDrop(Participant):
    """Rests `n` bids at the touch, then pulls them one by one over 100-200 ms, after which the
    fair value drops by `drop` ticks: the pattern "cancel cascade at the best bid, price drop
    imminent". Labelled with the cancelled order ids, the cascade's span and the drop time."""

    def __init__(
        self, account: str, market: str, n: int, size: int, drop: int, interval_ns: int = 2_000_000_000, seed: int = 6
    ) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.n, self.size, self.drop = n, size, drop
        self.busy = False

    def act(self, sim: Simulation, now_ns: int) -> None:
        if self.busy:
            return
        book = sim.engine.markets[self.market]
        bid = book.bids.best_price()
        if bid is None:
            return
        ids = []
        for _ in range(self.n):
            oid = self.next_id("cc")
            if sim.engine.submit(
                self.account, oid, self.market, Side.BUY, self.size, bid, OrderType.POST_ONLY, 0, now_ns
            ):
                ids.append(oid)
        if not ids:
            return
        self.busy = True
        start = now_ns + self.rng.randint(50_000_000, 150_000_000)
        span = self.rng.randint(100_000_000, 200_000_000)
        step = span // len(ids)
        for k, oid in enumerate(ids):
            sim.at(start + k * step, partial(self._pull, sim, oid))
        drop_at = start + span + 1
        sim.at(drop_at, lambda t: self._drop(sim, ids, start, t))

    def _pull(self, sim: Simulation, oid: str, now_ns: int) -> None:
        sim.engine.cancel(self.account, oid, now_ns)

    def _drop(self, sim: Simulation, ids: list[str], start: int, now_ns: int) -> None:
        fv = sim.fair[self.market]
        fv.value = max(1, fv.value - self.drop)
        fv.record(now_ns)
        fv.jumps.append((now_ns, -self.drop))
        sim.labels.append(Episode("cancel_cascade", self.market, self.account, ids, start, now_ns, Side.BUY))
        self.busy = False


class Absorber(Participant):
    """A large bid at the touch that stays for `hold_ns` and soaks up sells."""

    def __init__(
        self,
        account: str,
        market: str,
        size: int,
        hold_ns: int = 800_000_000,
        interval_ns: int = 3_000_000_000,
        seed: int = 7,
    ) -> None:
        super().__init__(account, market, interval_ns, seed)
        self.size, self.hold_ns = size, hold_ns
        self.busy = False
        self.live: tuple[str, int] | None = None

    def act(self, sim: Simulation, now_ns: int) -> None:
        if self.busy:
            return
        bid = sim.engine.markets[self.market].bids.best_price()
        if bid is None:
            return
        oid = self.next_id("ab")
        if sim.engine.submit(self.account, oid, self.market, Side.BUY, self.size, bid, OrderType.POST_ONLY, 0, now_ns):
            self.busy = True
            self.live = (oid, now_ns)
            sim.at(now_ns + self.hold_ns, lambda t: self._end(sim, oid, now_ns, t))

    def open_episodes(self, now_ns: int) -> list[Episode]:
        if not self.busy or self.live is None:
            return []
        oid, start = self.live
        return [Episode("absorption", self.market, self.account, [oid], start, now_ns, Side.BUY)]

    def _end(self, sim: Simulation, oid: str, start: int, now_ns: int) -> None:
        sim.engine.cancel(self.account, oid, now_ns)
        sim.labels.append(Episode("absorption", self.market, self.account, [oid], start, now_ns, Side.BUY))
        self.busy = False
