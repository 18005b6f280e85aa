"""Inverse contracts and funding in a backtest on recorded rows, against hand computations."""

from __future__ import annotations

import pytest

from agenthft.backtest.data import DataBacktest, FundingSchedule
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import FUNDING, Events, Meta
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.risk import RiskConfig
from agenthft.strategies.base import Context, Strategy

S = 1_000_000_000
COINM = Instrument("BTCUSD_PERP", "BTC", "USD", InstrumentKind.PERP, "0.1", "1", contract_size="100", inverse=True)
LINEAR = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "0.001")


class BuyThenSell(Strategy):
    """Takes `lots` at the ask on the first book, sells them at the bid after `hold_ns`."""

    def __init__(self, market: str, lots: int, hold_ns: int) -> None:
        self.markets = (market,)
        self.lots, self.hold_ns = lots, hold_ns
        self.bought_at = 0

    def on_book(self, ctx: Context, market: str) -> None:
        book = ctx.books[market]
        pos = ctx.oms.positions.get(market)
        size = pos.size if pos is not None else 0
        if not self.bought_at and not ctx.oms.open_orders():
            ctx.submit(market, Side.BUY, self.lots, book.best_ask(), OrderType.IOC)
            self.bought_at = ctx.now_ns
        elif size and ctx.now_ns - self.bought_at >= self.hold_ns and not ctx.oms.open_orders():
            ctx.submit(market, Side.SELL, size, book.best_bid(), OrderType.IOC)


def rows(inst: Instrument, books: list[tuple[int, int, int]], funding: tuple[tuple[int, int, int], ...] = ()) -> Events:
    """Books (t, bid, ask) with 1,000 lots a side, and FUNDING rows (t, rate 1e-12, mark)."""
    ev = Events(Meta("test", [], [inst]))
    msgs = [(t, "book", (b, a)) for t, b, a in books] + [(t, "funding", (r, m)) for t, r, m in funding]
    for t, what, (x, y) in sorted(msgs):
        if what == "book":
            ev.snapshot(t, t, 0, [(x, 1000)], [(y, 1000)], t)
        else:
            ev.add(t, t, 0, FUNDING, 0, y, x)
            ev.end_message()
    return ev


def backtest(ev: Events, strategy: Strategy, **kw) -> DataBacktest:
    no_risk = RiskConfig(stale_ms=0)
    return DataBacktest(strategy, ev, Constant(0, 0, 0), risk=no_risk, maker_fee="-0.0001", taker_fee="0.0005", **kw)


def test_an_inverse_round_trip_pays_in_the_coin_as_by_hand():
    # buy 10 contracts (1,000 USD) at 60,000, sell them at 66,000: P&L in BTC = 1000 x (1/60000 - 1/66000)
    ev = rows(COINM, [(1 * S, 599_990, 600_000), (2 * S, 660_000, 660_010), (3 * S, 660_000, 660_010)])
    res = backtest(ev, BuyThenSell("BTCUSD_PERP", 10, 1 * S)).run()
    s = res.summary
    assert s.currency == "BTC" and s.fills == 2
    assert s.realized == pytest.approx(1000 * (1 / 60_000 - 1 / 66_000), abs=2e-8)
    # two taker fees of 5 bp on 1,000 USD, each in BTC at its price
    assert s.fees == pytest.approx(0.0005 * 1000 / 60_000 + 0.0005 * 1000 / 66_000, abs=2e-8)
    assert s.final_position == {"BTCUSD_PERP": "0"}
    assert "inverse, 100 USD per contract, settled in BTC" in s.contracts["BTCUSD_PERP"]


def test_a_recorded_funding_row_charges_the_long_at_its_time_and_sign():
    rate = 100_000_000  # 0.0001
    ev = rows(
        LINEAR,
        [(1 * S, 599_990, 600_000), (5 * S, 599_990, 600_000), (9 * S, 599_990, 600_000)],
        funding=((4 * S, rate, 600_500), (8 * S, -2 * rate, 0)),  # a mark given; then "the exchange's own mark"
    )
    bt = backtest(ev, BuyThenSell("BTCUSDT", 5, 100 * S))  # holds 0.005 BTC through both
    res = bt.run()
    funding = [e for e in res.events if e["event"] == "funding"]
    assert [e["venue_ns"] for e in funding] == [4 * S, 8 * S]
    # 0.005 BTC x 60,050 x 0.0001 paid, then 0.005 x 59,999.5 (mid) x 0.0002 received
    assert funding[0]["fee"] == pytest.approx(0.005 * 60_050 * 0.0001)
    assert funding[1]["fee"] == pytest.approx(-0.005 * 59_999.5 * 0.0002)
    assert res.summary.funding == pytest.approx(funding[0]["fee"] + funding[1]["fee"], abs=1e-8)
    assert res.summary.pnl_after_fees == pytest.approx(
        res.summary.realized - res.summary.fees - res.summary.funding + res.summary.unrealized, abs=1e-8
    )
    assert "funding" in res.equity[-1]


def test_a_short_receives_a_positive_rate_on_the_schedule():
    class Short(BuyThenSell):
        def on_book(self, ctx: Context, market: str) -> None:
            if not self.bought_at:
                ctx.submit(market, Side.SELL, self.lots, ctx.books[market].best_bid(), OrderType.IOC)
                self.bought_at = ctx.now_ns

    eight_h = 8 * 3600 * S
    start = 3 * eight_h - 2 * S  # two seconds before a funding time (00:00, 08:00 or 16:00 UTC)
    ev = rows(LINEAR, [(start, 599_990, 600_000), (start + 4 * S, 599_990, 600_000)])
    res = backtest(ev, Short("BTCUSDT", 2, 0), funding=FundingSchedule.parse("0.0001@8")).run()
    (f,) = [e for e in res.events if e["event"] == "funding"]
    assert f["venue_ns"] == 3 * eight_h
    assert f["fee"] == pytest.approx(-0.002 * 599_995 / 10 * 0.0001)  # mid 59,999.5 -> 599,995 ticks // 1
    assert res.summary.funding < 0


def test_funding_schedule_parses_and_refuses():
    assert FundingSchedule.parse("0.0001").every_h == 8
    assert FundingSchedule.parse("-0.00005@1").every_h == 1
    for bad in ("x", "0.0001@0", "0.0001@abc"):
        with pytest.raises(ValueError, match="--funding"):
            FundingSchedule.parse(bad)
