"""The protocol codec's grid conversion of book levels: remembered numbers give exactly what the
grid gives, an off-grid number is refused every time, and the memo is bounded and per grid."""

from __future__ import annotations

from typing import Any

import pytest

from agenthft.connectors.agenthft import codec as codec_mod
from agenthft.connectors.agenthft.codec import Codec
from agenthft.model import GridError, Instrument, InstrumentKind
from agenthft.protocol import messages as pm

PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


class Books:
    def __init__(self) -> None:
        self.seen: list[tuple[list[Any], list[Any]]] = []

    def on_book(self, market: str, bids: list[Any], asks: list[Any], *rest: Any) -> None:
        self.seen.append((bids, asks))


def update(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> pm.BookUpdate:
    return pm.BookUpdate("BTC-PERP", 1, bids, asks, 0)


def test_remembered_levels_are_the_grids_own_conversion_and_off_grid_is_refused_each_time(monkeypatch):
    books = Books()
    c = Codec(books, {"BTC-PERP": PERP})  # type: ignore[arg-type]
    msg = update([(60000.1, 0.25), (59999.9, 0.003)], [(60000.2, 0.25)])
    c.feed(msg, 0)
    c.feed(msg, 0)  # from the memo this time
    g = PERP.grid
    want = ([(g.price_to_ticks(p), g.qty_to_lots(q)) for p, q in msg.bids], [(600_002, 250)])
    assert books.seen == [want, want]
    for _ in range(2):
        with pytest.raises(GridError):
            c.feed(update([(60000.15, 1.0)], []), 0)
    # another grid under the same name (a venue's instruments re-read): converted afresh
    c.instruments["BTC-PERP"] = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, "0.01", "0.0001")
    c.feed(update([(60000.1, 0.25)], []), 0)
    assert books.seen[-1] == ([(6_000_010, 2500)], [])
    # bounded: past MEMO_SIZE numbers it starts again
    monkeypatch.setattr(codec_mod, "MEMO_SIZE", 4)
    for i in range(10):
        c.feed(update([(60000.0 + i, 0.25)], []), 0)
    assert sum(len(d) for d in c._memo["BTC-PERP"][1:]) <= 4 + 2
