"""The L2 exchange model: own orders against a recorded aggregate book, with queue-ahead."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.connectors.port import Ack, CancelRefused, Done, Filled, OrderEvent, Rejected
from agenthft.connectors.simulated.l2exchange import L2Exchange
from agenthft.market.events import ASK, BID
from agenthft.model import Instrument, InstrumentKind, OrderType, Side

INST = Instrument(
    "X-PERP", "X", "USD", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001", maker_fee="0.0002", taker_fee="0.0005"
)


def book(queue: str = "proportional") -> L2Exchange:
    x = L2Exchange(INST, queue)
    for p, q in ((999, 5), (998, 7)):
        x.level(BID, p, q)
    for p, q in ((1001, 4), (1002, 9)):
        x.level(ASK, p, q)
    return x


def fills(out: list[OrderEvent]) -> list[Filled]:
    return [m for m in out if isinstance(m, Filled)]


def test_a_resting_order_queues_behind_the_recorded_level_and_trades_eat_the_queue_first():
    x = book()
    out = x.submit("b1", Side.BUY, 3, 999, OrderType.POST_ONLY, 1)
    assert isinstance(out[0], Ack) and x.orders["b1"].ahead == 5
    got: list[OrderEvent] = []
    x.trade(ASK, 999, 4, 2, got)  # a seller hits 4 lots: all ahead of us
    assert not fills(got) and x.orders["b1"].ahead == 1
    x.trade(ASK, 999, 3, 3, got)  # 1 more ahead, then 2 of ours
    f = fills(got)
    assert [(m.fill.qty, m.fill.price, m.liquidity.value) for m in f] == [(2, 999, "maker")]
    assert x.orders["b1"].remaining == 1
    # the maker fee is 2 bp of 0.002 x 99.9, rounded up to the ledger's cash unit
    assert f[0].fill.fee > 0


def test_a_trade_through_the_price_fills_the_whole_order():
    x = book()
    x.submit("a1", Side.SELL, 2, 1001, OrderType.LIMIT, 1)
    got: list[OrderEvent] = []
    x.trade(BID, 1002, 1, 2, got)  # a buyer paid more than our ask
    assert [m.fill.qty for m in fills(got)] == [2] and "a1" not in x.orders


def test_cancels_are_split_by_the_queue_model():
    removed = {}
    for model in ("pessimistic", "proportional", "optimistic"):
        x = book(model)
        x.submit("b1", Side.BUY, 1, 999, OrderType.LIMIT, 1)  # 5 ahead, nothing behind yet
        x.level(BID, 999, 9)  # 4 join behind us
        x.level(BID, 999, 6)  # 3 cancelled: from where?
        removed[model] = 5 - x.orders["b1"].ahead
    assert removed == {"pessimistic": 0, "proportional": 1, "optimistic": 3}


def test_a_level_decrease_explained_by_trades_is_not_counted_twice():
    x = book()
    x.submit("b1", Side.BUY, 1, 999, OrderType.LIMIT, 1)
    x.trade(ASK, 999, 2, 2, [])
    assert x.orders["b1"].ahead == 3
    x.level(BID, 999, 3)  # the depth stream now shows the trade: no cancel
    assert x.orders["b1"].ahead == 3


def test_the_book_moving_through_an_order_fills_it_at_its_price():
    x = book()
    x.submit("b1", Side.BUY, 2, 999, OrderType.LIMIT, 1)
    x.level(ASK, 1001, 0)
    x.level(ASK, 1002, 0)
    x.level(ASK, 999, 3)  # asks now at our bid
    got: list[OrderEvent] = []
    x.crossed_through(5, got)
    assert [(m.fill.qty, m.fill.price) for m in fills(got)] == [(2, 999)]


def test_marketable_orders_take_recorded_levels_and_the_rest_follows_the_order_type():
    x = book()
    out = x.submit("t1", Side.BUY, 6, 1001, OrderType.IOC, 1)
    assert [(m.fill.qty, m.fill.price, m.liquidity.value) for m in fills(out)] == [(4, 1001, "taker")]
    assert isinstance(out[-1], Done) and out[-1].remaining == 2
    out = x.submit("t2", Side.BUY, 6, 1002, OrderType.LIMIT, 2)
    assert [m.fill.qty for m in fills(out)] == [4, 2]
    assert "t2" not in x.orders  # filled whole (the recording is not consumed: no market impact)
    out = x.submit("p1", Side.BUY, 1, 1001, OrderType.POST_ONLY, 3)
    assert isinstance(out[0], Rejected) and out[0].code == "post_only_would_cross"


def test_cancel_and_unknown_cancel():
    x = book()
    x.submit("b1", Side.BUY, 1, 998, OrderType.LIMIT, 1)
    assert isinstance(x.cancel("b1", 2)[0], Done) and not x.orders
    rej = x.cancel("b1", 3)[0]
    assert isinstance(rej, CancelRefused) and rej.code == "unknown_order"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["level", "trade", "order", "cancel"]),
            st.sampled_from([BID, ASK]),
            st.integers(995, 1005),
            st.integers(0, 12),
        ),
        max_size=60,
    ),
    st.sampled_from(["pessimistic", "proportional", "power2", "optimistic"]),
)
def test_fills_never_exceed_orders_and_queue_ahead_stays_within_the_level(ops, model):
    """Whatever the recording does: filled <= ordered per order, ahead in [0, level qty]."""
    x = book(model)
    sizes: dict[str, int] = {}
    filled: dict[str, int] = {}
    n = 0
    for op, side, price, qty in ops:
        out: list[OrderEvent] = []
        if op == "level":
            x.level(side, price, qty)
        elif op == "trade" and qty:
            x.trade(side, price, qty, n, out)
        elif op == "order" and qty:
            n += 1
            oid = f"o{n}"
            sizes[oid] = qty
            out = x.submit(oid, Side.BUY if side == BID else Side.SELL, qty, price, OrderType.LIMIT, n)
        elif op == "cancel" and x.orders:
            out = x.cancel(sorted(x.orders)[0], n)
        x.crossed_through(n, out)
        for m in fills(out):
            filled[m.fill.order_id] = filled.get(m.fill.order_id, 0) + m.fill.qty
        for o in x.orders.values():
            level = x.book.bid_qty(o.price) if o.side is Side.BUY else x.book.ask_qty(o.price)
            assert (
                0
                <= o.ahead
                <= max(level, 0)
                + sum(m.remaining for m in x.orders.values() if m.side is o.side and m.price == o.price)
            )
    for oid, q in filled.items():
        assert q <= sizes[oid], (oid, q, sizes[oid])
