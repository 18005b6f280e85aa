"""The Binance connector's book sync when the REST snapshot is older than the diffs buffered
while it was fetched (seen in the soak after a reconnect: the gap escaped and killed the
reconnect supervisor). Binance's rule: fetch another snapshot. The REST boundary is a stub that
delivers diffs while the request is in flight, as the stream does; no network."""

from __future__ import annotations

from typing import Any

from agenthft.book import Level
from agenthft.connectors.binance_usdm.market import BinanceMarketData
from agenthft.market.feeds.binance import DepthUpdate
from agenthft.model import Instrument, InstrumentKind, Side

BTC = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


class Listener:
    def __init__(self) -> None:
        self.books: list[tuple[list[Level], list[Level], bool]] = []

    def on_book(self, market: str, bids: list[Level], asks: list[Level], seq: int, ts: int, recv: int, snap: bool):
        self.books.append((bids, asks, snap))

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None:
        pass


class Rest:
    """Each depth call first lets the stream deliver `during[i]`, then answers `bodies[i]`."""

    def __init__(self, md: list[BinanceMarketData], during: list[list[DepthUpdate]], bodies: list[dict[str, Any]]):
        self.md, self.during, self.bodies, self.calls = md, during, bodies, 0

    async def depth(self, market: str, limit: int) -> dict[str, Any]:
        i = self.calls
        self.calls += 1
        for upd in self.during[i]:
            self.md[0]._on_depth(market, upd, 0)
        return self.bodies[i]


def diff(first: int, last: int, prev: int, bid: str) -> DepthUpdate:
    return DepthUpdate(U=first, u=last, pu=prev, b=[(bid, "1")], a=[], E=1)


async def test_a_snapshot_older_than_the_buffered_diffs_is_fetched_again():
    holder: list[BinanceMarketData] = []
    rest = Rest(
        holder,
        during=[[diff(10, 11, 9, "100.0")], [diff(13, 13, 12, "101.0")]],
        bodies=[
            {"lastUpdateId": 5, "bids": [["99.0", "1"]], "asks": [["102.0", "1"]]},  # older than U=10
            {"lastUpdateId": 12, "bids": [["99.5", "1"]], "asks": [["102.0", "1"]]},  # bridged by pu=12
        ],
    )
    md = BinanceMarketData("ws://unused", rest, {"BTCUSDT": BTC})  # type: ignore[arg-type]
    holder.append(md)
    listener = Listener()
    md.listener = listener  # type: ignore[assignment]
    await md.snapshot("BTCUSDT")
    assert rest.calls == 2 and md.resyncs == 1
    ((bids, asks, snap),) = listener.books
    assert snap and bids[0] == (1010, 1000) and asks[0] == (1020, 1000), "the second snapshot, bridged by pu"
