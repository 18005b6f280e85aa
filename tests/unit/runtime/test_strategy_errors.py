"""A strategy's exception is its own error (`Runner.strategy_failed`): counted once, the strategy
halted on every venue it trades, its orders cancelled; a backtest stops with the traceback.
Two simulated venues on one clock (MultiRunner), no network."""

from __future__ import annotations

import pytest

from agenthft.backtest import Backtest, Constant
from agenthft.risk import RiskState
from agenthft.runtime.multi import MultiRunner
from agenthft.strategies.base import Context, Strategy
from agenthft.venue.config import load_config


class BreaksAtBook(Strategy):
    name = "breaks"
    markets = ("agenthft:BTC-PERP", "venue-b:BTCUSDT")

    def __init__(self, at: int) -> None:
        self.at = at
        self.books = 0

    def on_book(self, ctx: Context, market: str) -> None:
        self.books += 1
        if self.books == self.at:
            raise RuntimeError("a strategy bug")


def two_venues(strategy: Strategy) -> Backtest:
    return Backtest(
        strategy, "cross-venue", 3, Constant(100, 100, 100), seed=5,
        venue_config=[load_config("default"), load_config("venue-b")], max_net={"BTC": "0.05"},
    )  # fmt: skip


def test_a_multi_venue_strategys_exception_halts_every_leg_and_is_counted_once():
    bt = two_venues(BreaksAtBook(50))
    assert isinstance(bt.runner, MultiRunner)
    legs = bt.runner.runners
    for r in legs.values():
        r.raise_strategy_errors = False  # as live
    bt.run()
    assert len(legs) == 2
    for r in legs.values():
        assert r.risk.state is RiskState.HALTED
        assert r.strategy_errors == 1, "one exception, counted once per leg"
        assert [t.reason.value for t in r.risk.trips] == ["strategy_error"]
        assert "RuntimeError: a strategy bug" in r.risk.trips[0].value


def test_a_backtest_re_raises_it():
    with pytest.raises(RuntimeError, match="a strategy bug"):
        two_venues(BreaksAtBook(50)).run()
