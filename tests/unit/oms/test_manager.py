"""The order manager, one lifecycle rule per test."""

from pathlib import Path

import pytest

from agenthft.model import Instrument, InstrumentKind, OrderStatus, Side
from agenthft.oms import OrderManager, VenueFill, VenueOrder
from agenthft.oms.transitions import table_markdown

PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")
S = OrderStatus


def oms() -> OrderManager:
    return OrderManager([PERP], prefix="t")


def fill(order_id: str, fill_id: int, qty: int, price: int = 600000, side: Side = Side.BUY, fee: int = 0) -> VenueFill:
    return VenueFill(order_id, fill_id, "BTC-PERP", side, qty, price, fee, 0)


def test_client_order_ids_are_unique_and_prefixed():
    m = oms()
    a, b = m.new_order("BTC-PERP", Side.BUY, 1, 1), m.new_order("BTC-PERP", Side.BUY, 1, 1)
    assert a.order_id != b.order_id and a.order_id.startswith("t")
    with pytest.raises(ValueError):
        m.new_order("BTC-PERP", Side.BUY, 1, 1, order_id=a.order_id)
    with pytest.raises(KeyError):
        m.new_order("DOGE", Side.BUY, 1, 1)


def test_ack_then_partial_then_full_fill():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 10, 600000)
    assert m.in_flight() == 1
    m.on_ack(o.order_id, 7, 1)
    assert (o.status, o.venue_order_id, m.in_flight()) == (S.OPEN, 7, 0)
    m.on_fill(fill(o.order_id, 1, 4), 2)
    assert o.status is S.PARTIALLY_FILLED and o.remaining == 6
    m.on_fill(fill(o.order_id, 2, 6), 3)
    assert o.status is S.FILLED and o.order_id not in m.live


def test_fill_before_ack_is_handled():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 10, 600000)
    m.on_fill(fill(o.order_id, 1, 3), 1)
    m.on_ack(o.order_id, 7, 2)
    assert o.status is S.PARTIALLY_FILLED and o.venue_order_id == 7 and not m.anomalies


def test_cancel_ack_after_fill_is_a_harmless_no_op():
    m = oms()
    o = m.new_order("BTC-PERP", Side.SELL, 2, 600000)
    m.on_ack(o.order_id, 1, 1)
    m.request_cancel(o.order_id, 2)
    m.on_fill(fill(o.order_id, 1, 2, side=Side.SELL), 3)  # the fill raced our cancel
    m.on_cancel_reject(o.order_id, "unknown_order", 4)
    assert o.status is S.FILLED and not m.anomalies


def test_cancel_reject_restores_the_previous_status():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 5, 600000)
    m.on_ack(o.order_id, 1, 1)
    m.on_fill(fill(o.order_id, 1, 2), 2)
    m.request_cancel(o.order_id, 3)
    assert o.status is S.PENDING_CANCEL and m.in_flight() == 1
    m.on_cancel_reject(o.order_id, "rate_limited", 4)
    assert o.status is S.PARTIALLY_FILLED


def test_duplicate_fill_is_refused_and_reported():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 5, 600000)
    assert m.on_fill(fill(o.order_id, 9, 2), 1)
    assert not m.on_fill(fill(o.order_id, 9, 2), 2)
    assert o.filled == 2 and m.positions["BTC-PERP"].size == 2
    assert [a.kind for a in m.anomalies] == ["duplicate_fill"]


def test_fill_after_cancel_ack_is_applied_and_reported_as_late():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 2, 600000)
    m.on_ack(o.order_id, 1, 2)
    m.on_cancel_ack(o.order_id, 3)
    assert m.on_fill(fill(o.order_id, 2, 1), 4), "a venue fill is a fact"
    assert o.status is S.CANCELLED and o.filled == 1 and m.positions["BTC-PERP"].size == 1
    assert [(a.kind, a.detail) for a in m.anomalies] == [("late_fill", "fill 2 after cancel_ack")]
    assert m.on_fill(fill(o.order_id, 3, 1), 5)
    assert o.status is S.FILLED and m.positions["BTC-PERP"].size == 2


def test_fill_after_reconciliation_closed_the_order_is_applied_with_its_cause():
    m = oms()
    o = m.new_order("BTC-PERP", Side.SELL, 4, 600000)
    m.on_ack(o.order_id, 1, 1)
    m.reconcile([], [], 2)  # a snapshot that no longer lists it (its fill still on the wire)
    assert o.status is S.CANCELLED and o.closed_by == "reconcile"
    assert m.on_fill(fill(o.order_id, 7, 4, side=Side.SELL), 3)
    assert o.status is S.FILLED and m.positions["BTC-PERP"].size == -4
    assert m.anomalies[-1].kind == "late_fill" and "after reconcile" in m.anomalies[-1].detail
    assert not [a for a in m.anomalies if a.kind == "illegal_transition"]


def test_overfill_is_applied_and_reported():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 2, 600000)
    assert m.on_fill(fill(o.order_id, 1, 3), 1)
    assert o.status is S.FILLED and o.filled == 3 and m.positions["BTC-PERP"].size == 3
    assert [a.kind for a in m.anomalies] == ["overfill"]


def test_an_order_adopted_from_a_fill_grows_with_its_later_fills():
    m = oms()
    assert m.on_fill(fill("stranger", 1, 2), 1)
    assert m.on_fill(fill("stranger", 2, 3), 2)
    assert m.orders["stranger"].filled == 5 and m.positions["BTC-PERP"].size == 5
    assert [a.kind for a in m.anomalies] == ["unknown_order"]


def test_one_cancel_in_flight_per_order_retried_only_after_the_timeout():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 2, 600000)
    m.on_ack(o.order_id, 1, 1)
    assert m.request_cancel(o.order_id, 10, retry_ns=100)
    assert not m.request_cancel(o.order_id, 11, retry_ns=100), "already in flight"
    assert not m.request_cancel(o.order_id, 109, retry_ns=100)
    assert m.request_cancel(o.order_id, 110, retry_ns=100), "unanswered for the timeout: retry"
    assert o.cancel_retries == 1 and o.status is S.PENDING_CANCEL
    m.on_cancel_ack(o.order_id, 120)
    assert not m.request_cancel(o.order_id, 1000, retry_ns=100), "done: nothing to send"


def test_reconcile_leaves_orders_sent_on_the_current_connection_to_their_ack():
    m = oms()
    old = m.new_order("BTC-PERP", Side.BUY, 1, 600000, now_ns=5)  # sent on a dead connection
    new = m.new_order("BTC-PERP", Side.BUY, 1, 600000, now_ns=20)  # sent after reconnecting at 10
    rep = m.reconcile([], [], 30, in_flight_since_ns=10)
    assert (old.status, new.status) == (S.CANCELLED, S.PENDING_NEW)
    assert (rep.orders_closed, rep.orders_in_flight) == (1, 1)
    m.on_ack(new.order_id, 9, 31)
    assert new.status is S.OPEN and not [a for a in m.anomalies if a.kind == "illegal_transition"]


def test_reconcile_leaves_an_unacknowledged_order_to_its_ack_even_with_a_cancel_asked():
    """A cancel-all at the end of a run marks an order still on its way PENDING_CANCEL; a snapshot
    read before it reaches the venue does not list it, yet it arrives (and can fill) after."""
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 2, 600000, now_ns=20)  # sent after connecting at 10
    assert m.request_cancel(o.order_id, 21, retry_ns=0) and o.status is S.PENDING_CANCEL
    rep = m.reconcile([], [], 30, in_flight_since_ns=10)
    assert (o.status, rep.orders_closed, rep.orders_in_flight) == (S.PENDING_CANCEL, 0, 1)
    m.on_ack(o.order_id, 9, 31)
    m.on_fill(fill(o.order_id, 1, 1), 32)
    assert o.status is S.PENDING_CANCEL and o.order_id in m.live, "it arrived: live until its cancel is answered"
    assert not [a for a in m.anomalies if a.kind in ("late_fill", "illegal_transition")]
    acked = m.new_order("BTC-PERP", Side.BUY, 1, 600000, now_ns=40)
    m.on_ack(acked.order_id, 10, 41)
    m.request_cancel(acked.order_id, 42, retry_ns=0)
    m.reconcile([VenueOrder(o.order_id, 9, "BTC-PERP", Side.BUY, 600000, 2, 1)], [fill(o.order_id, 1, 1)], 50, 10)
    assert acked.status is S.CANCELLED, "acknowledged and gone from the venue: closed"


def test_reject_closes_the_order():
    m = oms()
    o = m.new_order("BTC-PERP", Side.BUY, 1, 1)
    m.on_reject(o.order_id, "bad_price", 1)
    assert o.status is S.REJECTED and o.reject_code == "bad_price" and not m.live


def test_positions_average_cost_realized_and_unrealized_with_fees():
    m = oms()
    mult = m.position("BTC-PERP").math.mult
    for i, (side, qty, px, fee) in enumerate(
        [(Side.BUY, 4, 1000, 5), (Side.BUY, 4, 1100, 5), (Side.SELL, 6, 1200, -3)]
    ):
        o = m.new_order("BTC-PERP", side, qty, px)
        m.on_fill(fill(o.order_id, i, qty, px, side, fee), i)
    p = m.positions["BTC-PERP"]
    assert p.size == 2 and p.avg_price() == 1050 and p.realized == 6 * 150 * mult
    pnl = m.pnl({"BTC-PERP": 1300})
    assert (pnl.realized, pnl.unrealized, pnl.fees) == (6 * 150 * mult, 2 * 250 * mult, 7)
    assert pnl.currency == "USDC" and pnl.net == pnl.realized - 7 + pnl.unrealized


def test_reconcile_synthesizes_missing_fills_closes_vanished_orders_and_adopts_orphans():
    m = oms()
    a = m.new_order("BTC-PERP", Side.BUY, 5, 600000)  # acked, then filled while we were away
    b = m.new_order("BTC-PERP", Side.BUY, 5, 600000)  # sent, never arrived
    c = m.new_order("BTC-PERP", Side.BUY, 5, 600000)  # still open at the venue, ack lost
    m.on_ack(a.order_id, 1, 1)
    rep = m.reconcile(
        [
            VenueOrder(c.order_id, 3, "BTC-PERP", Side.BUY, 600000, 5, 0),
            VenueOrder("stranger", 4, "BTC-PERP", Side.SELL, 610000, 1, 0),
        ],
        [fill(a.order_id, 11, 5)],
        10,
    )
    assert (rep.fills_synthesized, rep.orders_closed, rep.orders_opened, rep.orphans_adopted) == (1, 1, 1, ["stranger"])
    assert (a.status, a.synthetic_fills, b.status, c.status) == (S.FILLED, 1, S.CANCELLED, S.OPEN)
    assert m.orders["stranger"].external and m.positions["BTC-PERP"].size == 5
    again = m.reconcile([], [fill(a.order_id, 11, 5)], 11)
    assert again.fills_synthesized == 0, "reconciliation is idempotent for fills"


def test_transition_table_renders_for_the_docs():
    md = table_markdown()
    assert "| pending_new | partial_fill | partially_filled |" in md


def test_docs_table_is_the_code_table():
    doc = (Path(__file__).resolve().parents[3] / "docs" / "oms.md").read_text()
    inside = doc.split("<!-- table:begin -->")[1].split("<!-- table:end -->")[0].strip()
    assert inside == table_markdown()


def test_finished_orders_are_kept_up_to_a_bound_and_a_late_fill_for_a_forgotten_one_still_counts():
    m = oms()
    m.keep_done = 3
    ids = []
    for i in range(5):
        o = m.new_order("BTC-PERP", Side.BUY, 1, 600000)
        m.on_reject(o.order_id, "x", i)
        ids.append(o.order_id)
    assert set(m.orders) == set(ids[2:])
    assert m.on_fill(fill(ids[0], 99, 1), 10), "forgotten, then adopted: the fill is a fact"
    assert m.positions["BTC-PERP"].size == 1
