"""After a reconnect the agent reconciles; a snapshot that fails then (a restarted venue's REST
not listening yet) is retried on the same connection, not left until the next reconnect."""

from __future__ import annotations

import asyncio

from agenthft.connectors.port import AccountSnapshot
from agenthft.runtime.runner import Runner
from tests.unit.runtime.test_quiesce import Idle, LaggingVenue


class RestartedVenue(LaggingVenue):
    """Its socket is back; its snapshot fails `failures` times first (connection refused)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def snapshot(self) -> AccountSnapshot:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("REST not listening yet")
        return await super().snapshot()


async def test_a_failed_reconcile_after_a_reconnect_is_retried_on_the_connection():
    venue = RestartedVenue(failures=0)
    runner = Runner(Idle(), venue)
    events: list[str] = []
    runner._event = lambda kind, payload: events.append(kind)  # type: ignore[method-assign]
    await runner.start()
    assert len(runner.reconciles) == 1
    venue.failures = 3
    runner.on_connected(1)  # the socket is back after a drop
    for _ in range(200):
        if len(runner.reconciles) == 2:
            break
        await asyncio.sleep(0.02)
    assert len(runner.reconciles) == 2, events
    assert events.count("reconcile_failed") == 3
    await runner.stop()


async def test_no_retry_once_the_connection_is_gone():
    venue = RestartedVenue(failures=0)
    runner = Runner(Idle(), venue)
    await runner.start()
    venue.failures = 100
    runner.on_connected(1)
    await asyncio.sleep(0.05)  # the first attempt fails, a retry is due in 0.1 s
    venue.connected = False  # dropped again: the next reconnect reconciles
    await asyncio.sleep(0.5)
    assert venue.failures >= 98, "no snapshot asked for on a connection that is gone"
    assert len(runner.reconciles) == 1
