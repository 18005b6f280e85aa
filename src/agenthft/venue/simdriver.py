"""Drive a market simulation inside a live venue, in real time.

The simulation acts on the venue's own matching engine (its participants are ordinary
accounts), on the wall clock; after each action the venue's publisher routes the events to
subscribers, exactly as for an agent's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from agenthft.market.sim import FairValue, Simulation
from agenthft.market.sim.scenario import Scenario, build
from agenthft.venue.core import Venue

#: when behind real time, the simulation runs this much simulated time, then serves the clients
SLICE_NS = 5_000_000
#: and at most this much wall time at once: an order that arrives meanwhile waits no longer
#: (a simulated action's fan-out is ~30 us per subscribed connection on a small VM)
BUDGET_NS = 100_000
#: further behind than this, the missed wake-ups are skipped (each participant acts once, now)
MAX_LAG_NS = 250_000_000


class SimDriver:
    def __init__(
        self, venue: Venue, scenario: Scenario, underlyings: dict[str, FairValue] | None = None, tick_s: float = 0.001
    ) -> None:
        self.venue = venue
        self.tick_s = tick_s
        markets = set(venue.engine.markets)
        self.sim: Simulation = build(
            scenario, venue.config.markets, venue.engine, markets, underlyings, start_ns=time.time_ns()
        )
        self._task: asyncio.Task[None] | None = None
        #: actions moved forward because the process could not run them in time (CPU starved)
        self.skipped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        """Run what is due, then sleep until the next participant wakes (at least `tick_s`, at
        most 50 ms): the loop's timers have millisecond resolution, so a shorter sleep would be
        a busy spin that takes the CPU from the agents sharing this loop.

        A process starved of CPU falls behind real time; catching up in one call kept the loop
        from its clients for seconds (REST calls timed out). So it catches up in slices of
        `SLICE_NS` with the clients served between them, and skips what is more than
        `MAX_LAG_NS` late. Within a slice it stops after `BUDGET_NS` of wall time (at an action's
        end) and serves the clients before going on: an arriving order waits behind at most that
        much of the simulated market, not behind everything that was due."""
        publish = self.venue.publish
        outbox = self.venue.outbox
        sim = self.sim
        clock = time.perf_counter_ns
        while True:
            now = time.time_ns()
            nxt = sim.next_event_ns()
            if nxt is not None and now - nxt > MAX_LAG_NS:
                self.skipped += sim.skip_to(now - MAX_LAG_NS)
                nxt = now - MAX_LAG_NS
            until = now if nxt is None else min(now, nxt + SLICE_NS)
            started = clock()
            cut = False
            outbox.hold()  # each connection's frames of this run in one write
            try:
                while sim.run(until, on_step=publish, max_actions=1):
                    if clock() - started > BUDGET_NS:
                        cut = True
                        break
            finally:
                outbox.release()
            nxt = sim.next_event_ns()
            if cut or (nxt is not None and time.time_ns() - nxt > SLICE_NS):
                await asyncio.sleep(0)  # behind: the clients first, then the rest
                continue
            wait = 0.05 if nxt is None else min(0.05, (nxt - now) / 1e9)
            await asyncio.sleep(max(self.tick_s, wait))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
