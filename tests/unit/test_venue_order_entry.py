"""The venue's one order-entry path (place / cancel / cancel_all / amend) and its observers,
without a socket: every front calls these and only translates the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from agenthft.matching import Accepted, Amended, BookDelta, Cancelled, Fill, Rejected, Trade
from agenthft.model import OrderStatus, OrderType, Side
from agenthft.venue import Venue, load_config
from agenthft.venue.config import OrderRules, Tier
from agenthft.venue.outcome import AccountEvent, MarketEvent, OrderInfo, RejectCode, TopOfBook

BUY, SELL = Side.BUY, Side.SELL


class Recorder:
    def __init__(self) -> None:
        self.account: list[tuple[AccountEvent, OrderInfo | None]] = []
        self.states: list[tuple[OrderStatus, int] | None] = []  # the record as it was in the callback
        self.market: list[MarketEvent] = []

    def on_account(self, ev: AccountEvent, order: OrderInfo | None) -> None:
        self.account.append((ev, order))
        self.states.append(None if order is None else (order.status, order.filled))

    def on_market(self, ev: MarketEvent) -> None:
        self.market.append(ev)


def venue(**kw: Any) -> Venue:
    cfg = load_config()
    if kw:
        cfg = msgspec.structs.replace(cfg, **kw)
    return Venue(cfg)


def test_place_returns_the_order_state_and_its_fills():
    v = venue()
    _, _, maker = v.register("maker")
    _, _, taker = v.register("taker")
    rest = v.place(maker, "m1", "BTCUSDT", SELL, "0.002", "60000.0", now_ns=1)
    assert rest.ok and rest.published and rest.status is OrderStatus.OPEN and rest.market == "BTC-PERP"
    assert (rest.remaining, rest.filled) == (2, 0) and rest.venue_order_id > 0
    out = v.place(taker, "t1", "BTC-PERP", BUY, "0.003", "60000.0", OrderType.IOC, now_ns=2)
    assert out.ok and out.status is OrderStatus.CANCELLED and out.filled == 2 and out.remaining == 0
    assert out.avg_ticks() == 600000 and [f.qty for f in out.fills] == [2]
    assert out.order is not None and out.order.expired and out.order.reason == "ioc"
    done = v.find_order(taker.account_id, venue_order_id=out.venue_order_id)
    assert done is out.order and v.find_order(maker.account_id, "m1") is not None
    assert v.find_order(maker.account_id, "m1").status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_refusals_carry_a_code_and_change_nothing():
    v = venue()
    _, _, key = v.register("a")
    _, ro = v.keys.create(key.account_id, scopes=("read",))
    cases = [
        (v.place(ro, "x", "BTC-PERP", BUY, "1", "1", now_ns=1), RejectCode.FORBIDDEN),
        (v.place(key, "x", "NOPE", BUY, "1", "1", now_ns=1), RejectCode.UNKNOWN_MARKET),
        (v.place(key, "x", "BTC-PERP", BUY, "0.0001", "1", now_ns=1), RejectCode.BAD_QTY),
        (v.place(key, "x", "BTC-PERP", BUY, "1", "1.05", now_ns=1), RejectCode.BAD_PRICE),
        (v.place(key, "x", "BTC-PERP", BUY, "1", None, OrderType.MARKET, now_ns=1), RejectCode.NO_LIQUIDITY),
        (v.cancel(key, "nope", now_ns=1), RejectCode.UNKNOWN_ORDER),
        (v.cancel(key, venue_order_id=99, now_ns=1), RejectCode.UNKNOWN_ORDER),
        (v.amend(key, "nope", price="1", now_ns=1), RejectCode.UNKNOWN_ORDER),
    ]
    for out, code in cases:
        assert not out.ok and out.code == code, (out, code)
    assert cases[4][0].published and not cases[0][0].published, "only the engine's refusals are published"
    assert v.engine.l2("BTC-PERP") == ([], [])


def test_a_duplicate_live_client_order_id_leaves_the_original_untouched():
    v = venue()
    _, _, key = v.register("a")
    first = v.place(key, "same", "BTC-PERP", BUY, "0.001", "50000", now_ns=1)
    again = v.place(key, "same", "BTC-PERP", BUY, "0.005", "50001", now_ns=2)
    assert first.ok and not again.ok and again.code == RejectCode.DUPLICATE_ORDER_ID
    o = v.find_order(key.account_id, "same")
    assert o is not None and (o.oid, o.qty, o.price) == (first.venue_order_id, 1, 500000)


def test_fill_or_kill_reduce_only_min_notional_and_price_band():
    v = venue(rules=OrderRules(min_notional="5", price_band_bps=500))
    _, _, a = v.register("a")
    _, _, b = v.register("b")
    assert v.place(a, "s", "BTC-PERP", SELL, "0.002", "60000", now_ns=1).ok
    fok = v.place(b, "f", "BTC-PERP", BUY, "0.003", "60000", fok=True, now_ns=2)
    assert fok.code == RejectCode.FOK_UNFILLABLE and v.engine.l2("BTC-PERP")[1] == [(600000, 2)]
    fok = v.place(b, "f", "BTC-PERP", BUY, "0.002", "60000", fok=True, now_ns=3)
    assert fok.ok and fok.status is OrderStatus.FILLED
    assert v.place(b, "r", "BTC-PERP", BUY, "0.001", "59000", reduce_only=True, now_ns=4).code == RejectCode.REDUCE_ONLY
    assert (
        v.place(b, "r", "BTC-PERP", SELL, "0.003", "61000", reduce_only=True, now_ns=4).code == RejectCode.REDUCE_ONLY
    )
    assert v.place(b, "r", "BTC-PERP", SELL, "0.002", "61000", reduce_only=True, now_ns=4).ok
    small = v.place(b, "n", "BTC-PERP", BUY, "0.001", "4000", now_ns=5)
    assert small.code == RejectCode.MIN_NOTIONAL and "under the minimum 5" in small.reason
    far = v.place(b, "n", "BTC-PERP", BUY, "0.001", "63001", now_ns=5)  # mark 60000: band up to 63000
    assert far.code == RejectCode.PRICE_BAND
    assert v.place(b, "n", "BTC-PERP", BUY, "0.001", "50000", now_ns=5).ok, "a buy far below is fine"


def test_amend_keeps_ids_and_priority_rules_and_reports_the_new_state():
    v = venue()
    _, _, a = v.register("a")
    _, _, b = v.register("b")
    first = v.place(a, "first", "BTC-PERP", SELL, "0.005", "60000", now_ns=1)
    v.place(b, "second", "BTC-PERP", SELL, "0.005", "60000", now_ns=2)
    out = v.amend(a, venue_order_id=first.venue_order_id, qty="0.002", now_ns=3)
    assert out.ok and out.venue_order_id == first.venue_order_id and out.order is not None
    assert (out.order.qty, out.remaining, out.order.price) == (2, 2, 600000)
    assert v.amend(a, "first", qty="0.002", now_ns=4).code == RejectCode.NO_CHANGE
    assert v.amend(a, "first", price="60000.05", now_ns=4).code == RejectCode.BAD_PRICE
    moved = v.amend(a, "first", price="59000", now_ns=5)
    assert moved.ok and v.engine.l2("BTC-PERP")[1] == [(590000, 2), (600000, 5)]


def test_cancel_all_and_cancel_by_venue_order_id():
    v = venue()
    _, _, a = v.register("a")
    one = v.place(a, "one", "BTC-PERP", BUY, "0.001", "50000", now_ns=1)
    v.place(a, "two", "ETH-PERP", BUY, "0.01", "3000", now_ns=1)
    v.place(a, "three", "BTC-PERP", BUY, "0.001", "50001", now_ns=1)
    out = v.cancel(a, venue_order_id=one.venue_order_id, now_ns=2)
    assert out.ok and out.cancelled == 1 and out.status is OrderStatus.CANCELLED
    all_btc = v.cancel_all(a, "BTCUSDT", now_ns=3)
    assert all_btc.ok and all_btc.market == "BTC-PERP" and [o.order_id for o in all_btc.cancelled] == ["three"]
    assert [o.order_id for o in v.open_order_infos(a.account_id)] == ["two"]
    assert v.cancel_all(a, "NOPE", now_ns=3).code == RejectCode.UNKNOWN_MARKET


def test_rate_limits_are_the_keys_tier():
    cfg = load_config()
    v = Venue(msgspec.structs.replace(cfg, tiers={"default": Tier(orders_per_s=2, cancels_per_s=1)}))
    _, _, a = v.register("a")
    codes = [v.place(a, f"o{i}", "BTC-PERP", BUY, "0.001", "50000", now_ns=1).code for i in range(3)]
    assert codes == ["", "", RejectCode.RATE_LIMITED]
    assert [v.cancel(a, f"o{i}", now_ns=1).code for i in range(2)] == ["", RejectCode.RATE_LIMITED]
    assert v.cancel_all(a, now_ns=1).ok, "cancel_all is never rate limited"


def test_observers_get_account_and_market_events_as_ints():
    v = venue()
    rec = Recorder()
    v.add_observer(rec)
    _, _, a = v.register("a")
    _, _, b = v.register("b")
    v.place(a, "m", "BTC-PERP", SELL, "0.002", "60000", now_ns=1)
    v.amend(a, "m", qty="0.003", now_ns=2)
    v.place(b, "t", "BTC-PERP", BUY, "0.001", "60000", now_ns=3)
    v.cancel(a, "m", now_ns=4)
    v.place(b, "dup", "BTC-PERP", BUY, "1", None, OrderType.MARKET, now_ns=5)
    kinds = [(type(e).__name__, e.order_id) for e, _ in rec.account]
    assert kinds == [
        ("Accepted", "m"),
        ("Amended", "m"),
        ("Accepted", "t"),
        ("Fill", "m"),
        ("Fill", "t"),
        ("Cancelled", "m"),
        ("Rejected", "dup"),
    ]
    fill, info = rec.account[3]
    assert isinstance(fill, Fill) and (fill.price, fill.qty) == (600000, 1)
    assert rec.states[3] == (OrderStatus.PARTIALLY_FILLED, 1)
    assert info is not None and info.status is OrderStatus.CANCELLED, "the live record: read it in the callback"
    assert isinstance(rec.account[1][0], Amended) and rec.account[1][0].order_qty == 3
    assert isinstance(rec.account[0][0], Accepted) and isinstance(rec.account[5][0], Cancelled)
    deltas = [e for e in rec.market if isinstance(e, BookDelta)]
    assert [d.book_seq for d in deltas] == list(range(1, len(deltas) + 1))
    assert [(t.price, t.qty) for t in rec.market if isinstance(t, Trade)] == [(600000, 1)]
    tops = [e for e in rec.market if isinstance(e, TopOfBook)]
    assert tops[0] == TopOfBook(1, "BTC-PERP", 1, None, 0, 600000, 2)
    v.remove_observer(rec)
    v.place(a, "late", "BTC-PERP", SELL, "0.001", "60000", now_ns=6)
    assert rec.account[-1][0].order_id == "dup"
    rejected = Recorder()
    v.add_observer(rejected)
    v.place(a, "late", "BTC-PERP", SELL, "0.001", "60000", now_ns=7)
    assert [(type(e), o) for e, o in rejected.account] == [(Rejected, None)]


def test_amends_replay_from_the_command_log(tmp_path: Path):
    state = str(tmp_path / "venue.sqlite")
    a = Venue(load_config(), state)
    _, _, key = a.register("a")
    a.place(key, "x", "BTC-PERP", SELL, "0.005", "60000", now_ns=1)
    a.amend(key, "x", price="60001", qty="0.004", now_ns=2)
    b = Venue(load_config(), state)
    assert b.engine.l2("BTC-PERP") == a.engine.l2("BTC-PERP") == ([], [(600010, 4)])
    assert b.open_orders(key.account_id) == a.open_orders(key.account_id)
