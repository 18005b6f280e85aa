"""Helpers shared by the readers of tabular and snapshot-only sources (Tardis, Hyperliquid,
Databento): the grid from the data, and snapshots turned into level changes."""

from __future__ import annotations

from collections.abc import Iterable

from agenthft.market.events import ASK, BID, LEVEL, Events
from agenthft.market.feeds.probe import CaptureFormatError, step_of
from agenthft.model import Instrument, InstrumentKind


def instrument_from_data(
    symbol: str,
    prices: Iterable[str],
    sizes: Iterable[str],
    instruments: dict[str, Instrument] | None,
    source: str,
    kind: InstrumentKind = InstrumentKind.PERP,
) -> tuple[Instrument, str]:
    """(instrument, note): from the instrument file when it names `symbol`, else the largest
    steps the recorded prices and sizes share (stated in the note)."""
    known = (instruments or {}).get(symbol)
    if known is not None:
        return known, f"{symbol}: tick and lot from the instrument file"
    prices, sizes = list(prices), list(sizes)
    tick, lot = step_of(prices), step_of(sizes)
    if tick is None or lot is None:
        raise CaptureFormatError(f"{source}: no prices for {symbol} to infer its grid from; pass --instrument")
    base, _, quote = symbol.replace("_", "-").replace("/", "-").partition("-")
    inst = Instrument(symbol, base or symbol, quote or "?", kind, tick_size=tick, lot_size=lot)
    note = (
        f"{symbol}: tick {tick} and lot {lot} inferred from {len(prices):,} recorded prices and {len(sizes):,} sizes "
        "(the largest step they share; pass --instrument for the venue's own)"
    )
    return inst, note


class SnapshotDiffer:
    """Full (or top-N) book snapshots -> the level changes between consecutive ones, so a
    snapshot-only source feeds the same LEVEL rows as a diff stream. A level that left the
    snapshot is removed (for a top-N snapshot: it left the window, which is all we know)."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.snapshots = 0

    def apply(
        self,
        ev: Events,
        ts_local: int,
        ts_exch: int,
        market: int,
        bids: dict[int, int],
        asks: dict[int, int],
        seq: int = 0,
    ) -> int:
        """Emit one message of LEVEL rows (or nothing if the book did not change); returns rows."""
        if not self.snapshots:
            ev.snapshot(ts_local, ts_exch, market, sorted(bids.items(), reverse=True), sorted(asks.items()), seq)
            self.bids, self.asks, self.snapshots = bids, asks, 1
            return len(bids) + len(asks) + 1
        n = 0
        for sign, old, new in ((BID, self.bids, bids), (ASK, self.asks, asks)):
            for p in old.keys() - new.keys():
                ev.add(ts_local, ts_exch, market, LEVEL, sign, p, 0, 0, seq)
                n += 1
            for p, q in new.items():
                if old.get(p) != q:
                    ev.add(ts_local, ts_exch, market, LEVEL, sign, p, q, 0, seq)
                    n += 1
        if n:
            ev.end_message()
        self.bids, self.asks = bids, asks
        self.snapshots += 1
        return n
