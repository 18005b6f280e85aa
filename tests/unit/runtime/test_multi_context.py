"""The multi-venue context's merged views (`ctx.books`, `ctx.instruments`, `ctx.signals`) read
through to each venue's runner under VENUE:MARKET, without building a dict per read."""

from __future__ import annotations

import pytest

from agenthft.backtest import Backtest, Constant
from agenthft.runtime.multi import MultiRunner, qualify
from agenthft.strategies.nbbo_arb import NbboArb
from agenthft.venue.config import load_config


def test_merged_views_are_the_runners_own_objects_under_qualified_names():
    bt = Backtest(
        NbboArb(["agenthft:BTC-PERP", "venue-b:BTCUSDT"], qty="0.01"), "cross-venue", 1, Constant(100, 100, 100),
        seed=5, venue_config=[load_config("default"), load_config("venue-b")], max_net={"BTC": "0.05"},
    )  # fmt: skip
    multi = bt.runner
    assert isinstance(multi, MultiRunner)
    for attr in ("books", "instruments", "signals"):
        merged = getattr(multi, attr)
        old = {qualify(v, m): x for v, r in multi.runners.items() for m, x in getattr(r, attr).items()}
        assert dict(merged) == old and len(merged) == len(old)
        for key, value in old.items():
            assert merged[key] is value and key in merged
    assert multi.books["agenthft:BTC-PERP"] is multi.runners["agenthft"].books["BTC-PERP"]
    assert {"agenthft:BTC-PERP", "venue-b:BTCUSDT"} <= set(multi.instruments)
    for missing in ("BTC-PERP", "nowhere:BTC-PERP", "agenthft:NOPE", "agenthft:"):
        assert missing not in multi.books and multi.books.get(missing) is None
        with pytest.raises(KeyError):
            multi.instruments[missing]
    bt.run()  # the views follow the runners as they trade
    assert multi.books["venue-b:BTCUSDT"].best_bid() == multi.runners["venue-b"].books["BTCUSDT"].best_bid()
