"""Hyperliquid market data, live: `l2Book` (whole books, 20 levels a side, at most one per block)
diffed into level changes by the SAME code that reads recorded captures
(`market.feeds.hyperliquid.BookSync`: its `Book` struct and `SnapshotDiffer`), `bbo` (the top,
pushed on each change in a block: applied on the last book between snapshots) and `trades`.
The core gets a snapshot, then each change with a contiguous sequence of its own. This class
reads messages; the port owns the connection (one socket carries market data, the account's
events and order entry)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec

from agenthft.connectors.port import PortListener
from agenthft.connectors.raw import RawCapture
from agenthft.market.feeds.hyperliquid import Book, BookSync, Level, Trade
from agenthft.model import GridError, Instrument, Side

log = logging.getLogger("agenthft.connectors")


class Bbo(msgspec.Struct):
    coin: str
    time: int
    bbo: list[Level | None]


class _Coin(msgspec.Struct):
    coin: str


class HyperliquidMarketData:
    """Books and trades of `markets` (coin -> our market) for one listener."""

    def __init__(self, instruments: dict[str, Instrument], coins: dict[str, str]) -> None:
        self.instruments = instruments
        self.coin_market = coins  # Hyperliquid coin -> our market name
        self.listener: PortListener | None = None
        self.markets: tuple[str, ...] = ()
        self.syncs: dict[str, BookSync] = {}
        self.seq: dict[str, int] = {}
        self.books_seen: set[str] = set()
        self.raw: RawCapture | None = None  # recording: each l2Book / trades frame as received
        self._book = msgspec.json.Decoder(Book)
        self._trades = msgspec.json.Decoder(list[Trade])
        self._bbo = msgspec.json.Decoder(Bbo)
        self._ctx = msgspec.json.Decoder(_Coin)

    def start(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener, self.markets = listener, tuple(markets)
        self.reset()

    def reset(self) -> None:
        """Whole books again (a reconnect): each market's next l2Book is a snapshot."""
        self.syncs = {m: BookSync(self.instruments[m]) for m in self.markets}
        self.books_seen = set()

    def resync(self, market: str) -> None:
        if market in self.syncs:
            self.syncs[market].reset()

    def subscriptions(self, coin_of: dict[str, str]) -> list[dict[str, str]]:
        out = []
        for m in self.markets:
            coin = coin_of[m]
            out += [{"type": "l2Book", "coin": coin}, {"type": "bbo", "coin": coin}, {"type": "trades", "coin": coin}]
            if self.raw is not None:  # recording: the funding rate and mark too (the reader's FUNDING rows)
                out.append({"type": "activeAssetCtx", "coin": coin})
        return out

    def on_asset_ctx(self, raw: bytes, frame: bytes, recv_ns: int) -> None:
        """Kept for the recording only (the live funding comes from the user's own events)."""
        if self.raw is None:
            return
        market = self.coin_market.get(self._ctx.decode(raw).coin)
        if market is not None and market in self.syncs:
            self.raw.write(market, recv_ns, frame)

    def on_l2book(self, raw: bytes, recv_ns: int, frame: bytes = b"") -> None:
        book = self._book.decode(raw)
        market = self.coin_market.get(book.coin)
        sync = self.syncs.get(market) if market is not None else None
        lst = self.listener
        if sync is None or lst is None or market is None:
            return
        if self.raw is not None and frame:
            self.raw.write(market, recv_ns, frame)
        try:
            first, bids, asks = sync.on_book(book)
        except GridError as e:  # a level off the grid: the price rule broken, or another market
            log.warning("Hyperliquid %s book off the grid: %s", book.coin, e)
            return
        self.books_seen.add(market)
        ts = book.time * 1_000_000
        if first:
            self.seq[market] = 1
            lst.on_book(market, bids, asks, 1, ts, recv_ns, True)
        elif bids or asks:
            seq = self.seq[market] = self.seq.get(market, 0) + 1
            lst.on_book(market, bids, asks, seq, ts, recv_ns, False)

    def on_bbo(self, raw: bytes, recv_ns: int) -> None:
        msg = self._bbo.decode(raw)
        market = self.coin_market.get(msg.coin)
        sync = self.syncs.get(market) if market is not None else None
        lst = self.listener
        if sync is None or lst is None or market is None or len(msg.bbo) != 2:
            return
        try:
            bids, asks = sync.on_bbo(msg.bbo[0], msg.bbo[1])
        except GridError as e:
            log.warning("Hyperliquid %s bbo off the grid: %s", msg.coin, e)
            return
        if bids or asks:
            seq = self.seq[market] = self.seq.get(market, 0) + 1
            lst.on_book(market, bids, asks, seq, msg.time * 1_000_000, recv_ns, False)

    def on_trades(self, raw: bytes, recv_ns: int, frame: bytes = b"") -> None:
        lst = self.listener
        if lst is None:
            return
        trades = self._trades.decode(raw)
        if self.raw is not None and frame and trades:  # (one coin per trades message)
            market = self.coin_market.get(trades[0].coin)
            if market is not None and market in self.syncs:
                self.raw.write(market, recv_ns, frame)
        for t in trades:
            market = self.coin_market.get(t.coin)
            if market is None or market not in self.syncs:
                continue
            g = self.instruments[market].grid
            side = Side.BUY if t.side == "B" else Side.SELL  # the aggressor's side
            lst.on_trade(market, g.price_to_ticks(t.px), g.qty_to_lots(t.sz), side, t.time * 1_000_000, recv_ns)
