"""Matching engine behaviour, one rule per test."""

from typing import Any, TypeVar

from agenthft.matching import (
    STP,
    Accepted,
    Amended,
    AmendRejected,
    BookDelta,
    Cancelled,
    CancelRejected,
    Fill,
    MatchingEngine,
    Order,
    Rejected,
    Trade,
    text_to_cash,
)
from agenthft.model import Liquidity, OrderType, Side

from .conftest import make_engine

E = TypeVar("E")

BUY, SELL = Side.BUY, Side.SELL
M = "BTC-PERP"


def of(events: list[Any], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def live(engine: MatchingEngine, account: str, order_id: str) -> Order:
    o = engine.order(account, order_id)
    assert o is not None, f"{account}/{order_id} is not open"
    return o


def test_resting_limit_is_acknowledged_and_shows_in_l2(engine: MatchingEngine):
    engine.submit("a", "o1", M, BUY, 5, 1000, ts_ns=7)
    ev = engine.drain()
    assert [type(e) for e in ev] == [Accepted, BookDelta]
    (acc,), (delta,) = of(ev, Accepted), of(ev, BookDelta)
    assert acc.venue_order_id == 1 and acc.ts_ns == 7
    assert delta.bids == [(1000, 5)] and delta.book_seq == 1
    assert engine.l2(M) == ([(1000, 5)], [])


def test_better_price_fills_first_then_earlier_time(engine: MatchingEngine):
    engine.submit("a", "late-better", M, SELL, 1, 1001)
    engine.submit("a", "early", M, SELL, 1, 1002)
    engine.submit("b", "later", M, SELL, 1, 1002)
    engine.submit("a", "best", M, SELL, 1, 1000)
    engine.drain()
    engine.submit("c", "t", M, BUY, 4, 1002)
    makers = [f.order_id for f in of(engine.drain(), Fill) if f.liquidity is Liquidity.MAKER]
    assert makers == ["best", "late-better", "early", "later"]


def test_trade_happens_at_the_resting_price_with_fees_and_rebates(engine: MatchingEngine):
    engine.submit("a", "m", M, SELL, 10, 600000)
    engine.submit("b", "t", M, BUY, 4, 600100)
    fills = of(engine.drain(), Fill)
    maker, taker = fills
    assert maker.price == taker.price == 600000
    notional = text_to_cash("240")  # 60000 x 0.004 BTC
    assert maker.fee == -notional // 10_000  # -1 bp rebate
    assert taker.fee == notional * 5 // 10_000  # 5 bp fee
    assert (maker.remaining, taker.remaining) == (6, 0)
    assert engine.accounts["venue"].balances["USDC"] == maker.fee + taker.fee


def test_partial_fill_rests_the_remainder(engine: MatchingEngine):
    engine.submit("a", "m", M, SELL, 3, 1000)
    engine.submit("b", "t", M, BUY, 5, 1000)
    assert engine.l2(M) == ([(1000, 2)], [])
    assert live(engine, "b", "t").remaining == 2


def test_ioc_remainder_is_cancelled_not_rested(engine: MatchingEngine):
    engine.submit("a", "m", M, SELL, 3, 1000)
    engine.submit("b", "t", M, BUY, 5, 1000, OrderType.IOC)
    ev = engine.drain()
    (c,) = of(ev, Cancelled)
    assert (c.order_id, c.qty, c.reason) == ("t", 2, "ioc")
    assert engine.l2(M) == ([], [])


def test_market_order_never_sweeps_past_the_protection_band():
    e = make_engine(market_band_bps=100)  # 1 %
    e.submit("a", "near", M, SELL, 1, 10_000)
    e.submit("a", "edge", M, SELL, 1, 10_100)
    e.submit("a", "far", M, SELL, 1, 10_101)
    e.drain()
    e.submit("b", "mkt", M, BUY, 3, order_type=OrderType.MARKET)
    ev = e.drain()
    assert [f.price for f in of(ev, Fill) if f.account == "b"] == [10_000, 10_100]
    (c,) = of(ev, Cancelled)
    assert (c.qty, c.reason) == (1, "market")
    assert e.l2(M)[1] == [(10_101, 1)]


def test_market_order_into_an_empty_book_is_rejected(engine: MatchingEngine):
    engine.submit("b", "mkt", M, BUY, 1, order_type=OrderType.MARKET)
    (r,) = engine.drain()
    assert isinstance(r, Rejected) and r.code == "no_liquidity"


def test_post_only_that_would_cross_is_rejected_and_never_takes(engine: MatchingEngine):
    engine.submit("a", "m", M, SELL, 1, 1000)
    engine.drain()
    engine.submit("b", "p", M, BUY, 1, 1000, OrderType.POST_ONLY)
    (r,) = engine.drain()
    assert isinstance(r, Rejected) and r.code == "post_only_would_cross"
    engine.submit("b", "p2", M, BUY, 1, 999, OrderType.POST_ONLY)
    assert engine.l2(M) == ([(999, 1)], [(1000, 1)])


def test_iceberg_shows_only_display_and_refills_at_the_back(engine: MatchingEngine):
    engine.submit("a", "ice", M, SELL, 10, 1000, display_qty=3)
    engine.submit("b", "plain", M, SELL, 2, 1000)
    assert engine.l2(M)[1] == [(1000, 5)]
    engine.drain()
    engine.submit("c", "t", M, BUY, 4, 1000)
    ev = engine.drain()
    makers = [(f.order_id, f.qty) for f in of(ev, Fill) if f.liquidity is Liquidity.MAKER]
    assert makers == [("ice", 3), ("plain", 1)], "the refill went behind 'plain'"
    assert engine.l2(M)[1] == [(1000, 4)]  # plain 1 + the new 3-lot slice of ice
    assert of(ev, BookDelta)[-1].asks == [(1000, 4)]
    assert engine.queue_position(live(engine, "a", "ice").oid) == (1, 1)


def test_cancel_removes_the_order_and_an_unknown_cancel_is_rejected(engine: MatchingEngine):
    engine.submit("a", "o", M, BUY, 5, 1000)
    engine.drain()
    assert engine.cancel("a", "o")
    ev = engine.drain()
    assert of(ev, Cancelled)[0].qty == 5 and of(ev, BookDelta)[0].bids == [(1000, 0)]
    assert not engine.cancel("a", "o")
    (r,) = engine.drain()
    assert isinstance(r, CancelRejected) and r.code == "unknown_order"


def test_one_account_cannot_cancel_another_accounts_order(engine: MatchingEngine):
    engine.submit("a", "o", M, BUY, 5, 1000)
    assert not engine.cancel("b", "o")
    assert engine.l2(M) == ([(1000, 5)], [])


def test_cancel_all_per_market_or_everywhere(engine: MatchingEngine):
    engine.submit("a", "p1", M, BUY, 1, 1000)
    engine.submit("a", "p2", M, SELL, 1, 2000)
    engine.submit("a", "s1", "ETH-USDC", BUY, 1, 100)
    engine.submit("b", "other", M, BUY, 1, 999)
    assert engine.cancel_all("a", M) == 2
    assert [o.order_id for o in engine.open_orders("a")] == ["s1"]
    assert engine.cancel_all("a") == 1
    assert engine.l2(M) == ([(999, 1)], [])


def test_duplicate_live_order_id_is_rejected_but_reusable_after_done(engine: MatchingEngine):
    engine.submit("a", "o", M, BUY, 1, 1000)
    engine.submit("a", "o", M, BUY, 1, 1000)
    assert of(engine.drain(), Rejected)[0].code == "duplicate_order_id"
    engine.submit("b", "o", M, BUY, 1, 1000)  # another account may use the same id
    engine.cancel("a", "o")
    engine.submit("a", "o", M, BUY, 1, 1000)
    assert not of(engine.drain(), Rejected)


def test_bad_inputs_are_rejected_with_specific_codes(engine: MatchingEngine):
    cases = [
        (dict(market="NOPE", qty=1, price=1), "unknown_market"),
        (dict(market=M, qty=0, price=1), "bad_qty"),
        (dict(market=M, qty=-1, price=1), "bad_qty"),
        (dict(market=M, qty=1, price=0), "bad_price"),
        (dict(market=M, qty=1, price=None), "bad_price"),
        (dict(market=M, qty=5, price=1, display_qty=5), "bad_qty"),
        (dict(market=M, qty=5, price=1, display_qty=2, order_type=OrderType.IOC), "bad_request"),
    ]
    for i, (kw, code) in enumerate(cases):
        engine.submit("a", f"x{i}", side=BUY, **kw)  # type: ignore[arg-type]
        (r,) = engine.drain()
        assert isinstance(r, Rejected) and r.code == code, (kw, r)
    assert engine.l2(M) == ([], [])


def test_halted_market_rejects_orders(engine: MatchingEngine):
    engine.halt(M)
    engine.submit("a", "o", M, BUY, 1, 1000)
    assert of(engine.drain(), Rejected)[0].code == "market_halted"
    engine.halt(M, False)
    engine.submit("a", "o", M, BUY, 1, 1000)
    assert of(engine.drain(), Accepted)


def test_self_trade_cancels_the_resting_order_by_default(engine: MatchingEngine):
    engine.submit("a", "rest", M, SELL, 2, 1000)
    engine.submit("b", "other", M, SELL, 2, 1000)
    engine.drain()
    engine.submit("a", "take", M, BUY, 3, 1000)
    ev = engine.drain()
    assert [(c.order_id, c.reason) for c in of(ev, Cancelled)] == [("rest", "self_trade")]
    assert [f.order_id for f in of(ev, Fill)] == ["other", "take"]
    assert engine.l2(M) == ([(1000, 1)], [])
    assert not [t for t in of(ev, Trade) if t.maker_order == 1]


def test_self_trade_cancel_taker_and_cancel_both():
    for mode, cancelled in ((STP.CANCEL_TAKER, ["take"]), (STP.CANCEL_BOTH, ["rest", "take"])):
        e = make_engine(stp=mode)
        e.submit("a", "rest", M, SELL, 2, 1000)
        e.drain()
        e.submit("a", "take", M, BUY, 3, 1000)
        ev = e.drain()
        assert sorted(c.order_id for c in of(ev, Cancelled)) == cancelled, mode
        assert not of(ev, Fill)


def test_reduce_keeps_queue_priority(engine: MatchingEngine):
    engine.submit("a", "first", M, SELL, 5, 1000)
    engine.submit("b", "second", M, SELL, 5, 1000)
    engine.reduce("a", "first", 3)
    ev = engine.drain()
    assert of(ev, Amended)[0].remaining == 2
    engine.submit("c", "t", M, BUY, 3, 1000)
    makers = [(f.order_id, f.qty) for f in of(engine.drain(), Fill) if f.liquidity is Liquidity.MAKER]
    assert makers == [("first", 2), ("second", 1)]


def test_amend_to_a_smaller_qty_at_the_same_price_keeps_queue_priority_and_ids(engine: MatchingEngine):
    engine.submit("a", "first", M, SELL, 5, 1000)
    engine.submit("b", "second", M, SELL, 5, 1000)
    oid = live(engine, "a", "first").oid
    engine.drain()
    assert engine.amend("a", "first", qty=2)
    (am,) = of(engine.drain(), Amended)
    assert (am.qty, am.remaining, am.order_qty, am.price, am.kept_priority) == (3, 2, 2, 1000, True)
    o = live(engine, "a", "first")
    assert (o.oid, o.qty, o.cancelled) == (oid, 2, 0), "an amend keeps the ids and is no cancel"
    engine.submit("c", "t", M, BUY, 3, 1000)
    makers = [(f.order_id, f.qty) for f in of(engine.drain(), Fill) if f.liquidity is Liquidity.MAKER]
    assert makers == [("first", 2), ("second", 1)]


def test_amend_to_a_larger_qty_or_another_price_loses_priority(engine: MatchingEngine):
    engine.submit("a", "first", M, SELL, 5, 1000)
    engine.submit("b", "second", M, SELL, 5, 1000)
    assert engine.amend("a", "first", qty=6)
    (am,) = of(engine.drain(), Amended)
    assert (am.qty, am.remaining, am.kept_priority) == (-1, 6, False)
    assert engine.l2(M) == ([], [(1000, 11)])
    engine.submit("c", "t", M, BUY, 6, 1000)
    makers = [(f.order_id, f.qty) for f in of(engine.drain(), Fill) if f.liquidity is Liquidity.MAKER]
    assert makers == [("second", 5), ("first", 1)]
    assert engine.amend("b", "second", price=999) is False, "second is filled: unknown"
    assert of(engine.drain(), AmendRejected)[0].code == "unknown_order"


def test_amend_that_crosses_trades_as_a_taker_and_post_only_is_refused(engine: MatchingEngine):
    engine.submit("a", "ask", M, SELL, 2, 1000)
    engine.submit("b", "bid", M, BUY, 3, 990)
    engine.submit("b", "po", M, BUY, 1, 980, OrderType.POST_ONLY)
    engine.drain()
    assert engine.amend("b", "bid", price=1000)
    fills = of(engine.drain(), Fill)
    got = [(f.order_id, f.qty, f.liquidity) for f in fills]
    assert got == [("ask", 2, Liquidity.MAKER), ("bid", 2, Liquidity.TAKER)]
    assert engine.l2(M) == ([(1000, 1), (980, 1)], [])
    engine.submit("a", "ask2", M, SELL, 1, 1010)
    engine.drain()
    assert engine.amend("b", "po", price=1010) is False
    assert [r.code for r in of(engine.drain(), AmendRejected)] == ["post_only_would_cross"]
    assert live(engine, "b", "po").price == 980
    for kw, code in [({"qty": 2}, "bad_qty"), ({"price": 0}, "bad_price"), ({"price": 1000, "qty": 3}, "no_change")]:
        assert engine.amend("b", "bid", **kw) is False
        assert of(engine.drain(), AmendRejected)[0].code == code, kw


def test_fillable_counts_what_would_trade_for_fill_or_kill(engine: MatchingEngine):
    engine.submit("a", "s1", M, SELL, 2, 1000)
    engine.submit("b", "s2", M, SELL, 3, 1001, display_qty=1)
    assert engine.fillable("c", M, BUY, 1000, 10) == 2
    assert engine.fillable("c", M, BUY, 1001, 10) == 5, "an iceberg's reserve trades too"
    assert engine.fillable("c", M, BUY, None, 4) == 4
    assert engine.fillable("a", M, BUY, 1001, 10) == 3, "own orders are cancelled, not traded (STP)"


def test_perp_position_average_entry_and_realized_pnl(engine: MatchingEngine):
    # b buys 4 @ 1000 and 4 @ 1100, then sells 6 @ 1200: realizes 6 x (1200 - 1050) ticks.
    for oid, px in (("s1", 1000), ("s2", 1100)):
        engine.submit("a", oid, M, SELL, 4, px)
        engine.submit("b", "b" + oid, M, BUY, 4, px)
    engine.submit("a", "bid", M, BUY, 6, 1200)
    engine.submit("b", "exit", M, SELL, 6, 1200)
    math = engine.markets[M].math
    pos = engine.accounts["b"].positions[M]
    assert pos.size == 2
    assert pos.realized == 6 * 150 * math.mult
    assert pos.avg_price(math) == 1050
    assert engine.accounts["a"].positions[M].size == -2


def test_position_limit_counts_open_orders_and_lets_reducing_orders_through():
    e = make_engine(position_limit=10)
    e.account("a").position_limit = 100  # a per-account override of the engine default
    e.submit("a", "m", M, SELL, 20, 1000)
    e.submit("b", "t1", M, BUY, 6, 1000)
    e.submit("b", "o2", M, BUY, 4, 900)
    e.submit("b", "t3", M, BUY, 1, 900)
    ev = e.drain()
    (r,) = of(ev, Rejected)
    assert (r.order_id, r.code) == ("t3", "position_limit") and "11" in r.reason
    e.submit("b", "reduce", M, SELL, 6, 2000)
    assert not of(e.drain(), Rejected)


def test_insufficient_balance_is_rejected_and_holds_release_on_cancel(engine: MatchingEngine):
    engine.deposit("poor", "USDC", text_to_cash("100"))
    # spot buy of 1 ETH at 100 costs 100 + 0.1 % worst-case taker fee
    engine.submit("poor", "big", "ETH-USDC", BUY, 100, 10_000)
    assert of(engine.drain(), Rejected)[0].code == "insufficient_balance"
    engine.submit("poor", "ok", "ETH-USDC", BUY, 50, 10_000)
    acct = engine.accounts["poor"]
    assert acct.holds["USDC"] == text_to_cash("50.05")
    engine.cancel("poor", "ok")
    assert acct.holds["USDC"] == 0 and acct.available("USDC") == text_to_cash("100")


def test_spot_fill_moves_base_and_quote(engine: MatchingEngine):
    engine.submit("a", "ask", "ETH-USDC", SELL, 200, 300_000)  # 2 ETH at 3000
    engine.submit("b", "bid", "ETH-USDC", BUY, 200, 300_000)
    a, b = engine.accounts["a"], engine.accounts["b"]
    assert a.balances["ETH"] == text_to_cash("998") and b.balances["ETH"] == text_to_cash("1002")
    assert a.balances["USDC"] == text_to_cash("10006000")  # maker, no fee on this market
    assert b.balances["USDC"] == text_to_cash("10000000") - text_to_cash("6006")  # 0.1 % taker
    assert a.holds["ETH"] == 0 and b.holds["USDC"] == 0
