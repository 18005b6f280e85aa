"""A deterministic discrete-event market: participants act on the matching engine at their own
(seeded, random) times; the fair value steps between events. Pure: time is simulated ns."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from fractions import Fraction

import msgspec

from agenthft.market.sim.fair import FairValue
from agenthft.market.sim.participants import Episode, Participant
from agenthft.matching import EngineConfig, Event, MatchingEngine, text_to_cash
from agenthft.model import Instrument


class Simulation:
    def __init__(
        self,
        instruments: Iterable[Instrument],
        fair: dict[str, FairValue],
        participants: Iterable[Participant],
        engine: MatchingEngine | None = None,
        start_ns: int = 0,
        scales: dict[str, Fraction] | None = None,
    ) -> None:
        """`start_ns`: the simulated clock's origin (a live venue passes the wall clock, so event
        timestamps are epoch ns like everything else on the wire)."""
        self.engine = engine or MatchingEngine(instruments, EngineConfig(market_band_bps=200))
        self.fair = fair
        # markets sharing an underlying may have other ticks: its value times the scale is the
        # market's own ticks (a spot at 0.01 and a perp at 0.1 quote the same price)
        self.scales = {m: f for m, f in (scales or {}).items() if f != 1}
        self.participants: list[Participant] = []
        self.labels: list[Episode] = []
        self.events: list[Event] = []
        self.now_ns = start_ns
        self._queue: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = 0
        self._underlyings = list({id(v): v for v in fair.values()}.values())
        for fv in self._underlyings:
            fv.t_ns = max(fv.t_ns, start_ns)  # start the walk here, not with one giant first step
        for p in participants:
            self.add(p)

    def add(self, p: Participant) -> None:
        """A participant joins now: funded in every asset of the engine's markets, first acting
        at its own next time."""
        markets = [m.inst for m in self.engine.markets.values()]
        for asset in sorted({i.quote for i in markets} | {i.base for i in markets}):
            self.engine.deposit(p.account, asset, text_to_cash("1000000000"))
        self.participants.append(p)
        self.at(p.next_time(self.now_ns), self._runner(p))

    def next_event_ns(self) -> int | None:
        """When the next scheduled action is due (None: nothing scheduled)."""
        return self._queue[0][0] if self._queue else None

    def skip_to(self, t_ns: int) -> int:
        """Every action due before `t_ns` is moved to `t_ns`, in its order: each participant acts
        once there instead of once per missed wake-up (a live driver that fell behind real time
        skips what it could not run in time). How many actions were moved."""
        moved = 0
        queue = []
        for t, seq, fn in self._queue:
            if t < t_ns:
                t, moved = t_ns, moved + 1
            queue.append((t, seq, fn))
        heapq.heapify(queue)
        self._queue = queue
        return moved

    def _runner(self, p: Participant) -> Callable[[int], None]:
        def run(now_ns: int) -> None:
            p.act(self, now_ns)
            self.at(p.next_time(now_ns), run)

        return run

    def at(self, t_ns: int, fn: Callable[[int], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (t_ns, self._seq, fn))

    def fair_for(self, p: Participant, now_ns: int) -> int:
        """The fair value this participant sees: now, or `p.lag_ns` ago for a lagging one."""
        fv = self.fair[p.market]
        v = fv.value_at(now_ns - p.lag_ns) if p.lag_ns else fv.value
        scale = self.scales.get(p.market)
        return v if scale is None else max(1, round(v * scale))

    def open_episodes(self) -> list[Episode]:
        """Episodes still under way at the current time (not yet in `labels`)."""
        return [ep for p in self.participants for ep in p.open_episodes(self.now_ns)]

    def write_labels(self, path: str) -> int:
        """Write the labelled episodes as JSON lines; returns how many."""
        enc = msgspec.json.Encoder()
        with open(path, "wb") as f:
            for ep in self.labels:
                f.write(enc.encode(ep) + b"\n")
        return len(self.labels)

    def run(
        self,
        until_ns: int,
        keep_events: bool = True,
        on_step: Callable[[int], None] | None = None,
        max_actions: int = 0,
    ) -> int:
        """Process every scheduled action up to `until_ns` (simulated ns), or the first
        `max_actions` of them (0: all); how many ran. After each action the engine's events are
        kept (`keep_events`) or, with `on_step`, left for it to drain (the venue's publisher
        routes them to subscribers). Stopped by `max_actions`, the clock stays at the last action."""
        ran = 0
        while self._queue and self._queue[0][0] <= until_ns:
            if ran == max_actions and max_actions:
                return ran
            ran += 1
            t, _, fn = heapq.heappop(self._queue)
            for fv in self._underlyings:  # markets (and simulations) may share one underlying
                fv.advance(t)
            self.now_ns = t
            fn(t)
            if on_step is not None:
                on_step(t)
                continue
            drained = self.engine.drain()
            if keep_events:
                self.events.extend(drained)
        self.now_ns = until_ns
        return ran
