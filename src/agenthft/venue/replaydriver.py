"""Drive recorded data into a live venue: real time (scaled) or as fast as possible.

The recording's normalised rows (any source, several markets in one time-ordered stream)
replay into the venue's engine through `market.replay.EventReplay` (the queue model is
documented there); the venue's publisher streams the resulting book and trades to subscribers.
Recorded times are mapped onto the wall clock, so timestamps on the wire are current epoch ns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from agenthft.market.events import Events
from agenthft.market.replay import EventReplay
from agenthft.venue.core import Venue


class ReplayDriver:
    def __init__(self, venue: Venue, events: Events, speed: float = 1.0) -> None:
        """`speed`: 1.0 = real time, 10 = ten times faster, 0 = as fast as possible."""
        self.venue = venue
        self.speed = speed
        self.replay = EventReplay(venue.engine, events)
        self.done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.steps = 0

    def start(self) -> None:
        t0 = time.time_ns()
        self._tasks = [asyncio.create_task(self._run(self.replay, t0))]
        # return_exceptions: a stopped (cancelled) replay is not an error nobody retrieved
        asyncio.gather(*self._tasks, return_exceptions=True).add_done_callback(lambda _: self.done.set())

    async def _run(self, rep: EventReplay, t0: int) -> None:
        first: int | None = None
        publish = self.venue.publish
        outbox = self.venue.outbox
        held = False  # as fast as it goes: each connection's frames of the steps between two
        try:  # turns of the loop in one write (never held across an await)
            for capture_ns, _market, _what in rep.steps():
                if first is None:
                    first = capture_ns
                if self.speed > 0:
                    due = t0 + int((capture_ns - first) / self.speed)
                    rep.time_offset_ns = due - capture_ns
                    wait = (due - time.time_ns()) / 1e9
                    if wait > 0:
                        await asyncio.sleep(wait)
                else:
                    rep.time_offset_ns = time.time_ns() - capture_ns
                    if not held:
                        outbox.hold()
                        held = True
                publish(time.time_ns())
                self.steps += 1
                if self.steps % 256 == 0:
                    if held:
                        outbox.release()
                        held = False
                    await asyncio.sleep(0)  # let the venue serve its clients
        finally:
            if held:
                outbox.release()

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
