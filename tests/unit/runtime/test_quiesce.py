"""The end of a live run (`Runner.quiesce` with cancel): every fill the venue booked is the
agent's when it returns, whatever order the venue's answers come in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from agenthft.connectors.port import (
    AccountSnapshot,
    Ack,
    Caps,
    Done,
    OrderEvent,
    OrderRequest,
    PortListener,
    VenueLimits,
)
from agenthft.model import Instrument, InstrumentKind, Side
from agenthft.oms import VenueFill, VenueOrder
from agenthft.runtime.runner import Runner
from agenthft.strategies.base import Strategy

PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


class Idle(Strategy):
    name = "idle"
    markets = ("BTC-PERP",)


class LaggingVenue:
    """A venue as a loaded one answers: an order sent before the cancel-all reaches it after the
    cancel-all (and after the snapshot read next), fills once there, and its fill's stream
    event is still on the way when the cancel that follows it is answered."""

    name, url, caps = "lagging", "lagging://", Caps()
    connected, reconnects, rtt_ns = True, 0, 0

    def __init__(self) -> None:
        self.listener: PortListener | None = None
        self.open: dict[str, VenueOrder] = {}
        self.fills: list[VenueFill] = []
        self.on_the_way: list[OrderRequest] = []
        self.snapshots = 0

    async def instruments(self) -> list[Instrument]:
        return [PERP]

    async def limits(self) -> VenueLimits:
        return VenueLimits()

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        listener.on_connected(0)

    def _tell(self, ev: OrderEvent) -> None:
        assert self.listener is not None
        asyncio.get_running_loop().call_soon(self.listener.on_order_event, ev, time.time_ns())

    def place(self, req: OrderRequest, arrives: bool = True) -> bool:
        if not arrives:
            self.on_the_way.append(req)
            return True
        vid = len(self.open) + 100
        self.open[req.order_id] = VenueOrder(req.order_id, vid, req.market, req.side, req.price or 0, req.qty, 0)
        self._tell(Ack(req.order_id, vid, time.time_ns()))
        return True

    def cancel(self, order_id: str, market: str) -> bool:
        o = self.open.pop(order_id, None)
        if o is not None:
            self._tell(Done(order_id, "cancelled", o.qty - o.filled, time.time_ns()))
        return True

    def cancel_all(self, market: str | None = None) -> bool:
        for oid in list(self.open):
            self.cancel(oid, PERP.market)
        return True

    def amend(self, req: object) -> bool:
        return False

    def resubscribe(self, market: str) -> None:
        pass

    async def snapshot(self) -> AccountSnapshot:
        snap = AccountSnapshot(list(self.open.values()), list(self.fills), consistent=False)
        self.snapshots += 1
        for req in self.on_the_way:  # arrives just after this snapshot was read
            self.place(req)
            o = self.open[req.order_id]
            self.open[req.order_id] = VenueOrder(o.order_id, o.venue_order_id, o.market, o.side, o.price, o.qty, 1)
            self.fills.append(VenueFill(req.order_id, 7_000 + len(self.fills), o.market, o.side, 1, o.price, 0, 0))
            # its fill event lags behind everything else: never delivered here
        self.on_the_way.clear()
        return snap

    async def ping(self) -> int:
        return 0

    async def close(self) -> None:
        self.connected = False

    def drop(self) -> None:
        pass


def send(runner: Runner, venue: LaggingVenue, price: int, arrives: bool) -> str:
    o = runner.oms.new_order("BTC-PERP", Side.BUY, 2, price, now_ns=runner.clock())
    venue.place(OrderRequest(o.order_id, o.market, o.side, o.qty, o.price), arrives)
    return o.order_id


async def test_a_fill_of_an_order_that_reached_the_venue_after_the_cancel_all_is_the_agents():
    venue = LaggingVenue()
    runner = Runner(Idle(), venue)
    await runner.start()
    resting = send(runner, venue, 600000, arrives=True)
    await asyncio.sleep(0)  # its ack
    late = send(runner, venue, 600010, arrives=False)  # placed as the run ends: still on its way
    assert runner.oms.orders[resting].acked_ns and set(runner.oms.live) == {resting, late}

    assert await runner.quiesce(cancel_orders=True, timeout_s=0.1)

    assert not venue.open, "nothing left resting at the venue"
    assert [f.fill_id for f in venue.fills] == [7_000]
    assert runner.summary()["fill_ids"] == [7_000], "the venue's fill of the late order is the agent's"
    await runner.stop()
