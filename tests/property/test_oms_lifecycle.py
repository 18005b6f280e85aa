"""The order state machine only moves along the table's edges, and the OMS agrees with the
venue's own ledger on random flow delivered out of order and with duplicates."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.matching import (
    Accepted,
    Cancelled,
    CancelRejected,
    EngineConfig,
    Fill,
    MatchingEngine,
    Rejected,
    text_to_cash,
)
from agenthft.model import Instrument, InstrumentKind, OrderStatus, OrderType, Side
from agenthft.oms import TRANSITIONS, OmsEvent, OrderManager, VenueFill

PERP = Instrument(
    "P", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.5", lot_size="0.01", maker_fee="-0.0002", taker_fee="0.0007"
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(OmsEvent)), max_size=12), st.integers(2, 6))
def test_status_only_moves_along_table_edges(events, qty):
    m = OrderManager([PERP])
    o = m.new_order("P", Side.BUY, qty, 100)
    fill_id = 0
    for ev in events:
        before, anomalies = o.status, len(m.anomalies)
        if ev is OmsEvent.ACK:
            m.on_ack(o.order_id, 1, 0)
        elif ev is OmsEvent.REJECT:
            m.on_reject(o.order_id, "x", 0)
        elif ev in (OmsEvent.PARTIAL_FILL, OmsEvent.FILL):
            fill_id += 1
            q = 1 if ev is OmsEvent.PARTIAL_FILL and o.filled + 1 < o.qty else o.qty - o.filled
            m.on_fill(VenueFill(o.order_id, fill_id, "P", Side.BUY, max(q, 1), 100, 0, 0), 0)
        elif ev is OmsEvent.CANCEL_REQUEST:
            m.request_cancel(o.order_id, 0)
        elif ev is OmsEvent.CANCEL_ACK:
            m.on_cancel_ack(o.order_id, 0)
        else:
            m.on_cancel_reject(o.order_id, "x", 0)
        after = o.status
        new = [a.kind for a in m.anomalies[anomalies:]]
        if "illegal_transition" in new:
            assert after is before, "a refused move leaves the status alone"
        elif after is not before:
            legal = {to for (frm, _), to in TRANSITIONS.items() if frm is before}
            legal |= {OrderStatus.PARTIALLY_FILLED}  # the resolved RESTORE marker
            assert after in legal, f"{before} -> {after} is not an edge"
        assert 0 <= o.filled <= o.qty or "overfill" in [a.kind for a in m.anomalies], "only a reported overfill"
        assert (o.order_id in m.live) == (not o.status.is_terminal)


ops = st.lists(
    st.tuples(
        st.sampled_from(["agent", "other"]),
        st.sampled_from(list(Side)),
        st.integers(95, 105),
        st.integers(1, 8),
        st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.IOC]),
        st.booleans(),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.randoms(use_true_random=False))
def test_oms_agrees_with_the_venue_ledger_under_reordering_and_duplicates(flow, rnd: random.Random):
    e = MatchingEngine([PERP], EngineConfig(market_band_bps=300))
    for a in ("agent", "other"):
        e.deposit(a, "USDC", text_to_cash("1000000000"))
    m = OrderManager([PERP])
    for i, (acct, side, price, qty, kind, cancel_one) in enumerate(flow):
        if acct == "agent":
            o = m.new_order("P", side, qty, price, kind, i)
            e.submit("agent", o.order_id, "P", side, qty, price, kind, 0, i)
            if cancel_one and m.live:
                victim = rnd.choice(sorted(m.live))
                if m.request_cancel(victim, i):
                    e.cancel("agent", victim, i)
        else:
            e.submit("other", f"x{i}", "P", side, qty, price, kind, 0, i)
        mine = [ev for ev in e.drain() if getattr(ev, "account", None) == "agent"]
        # One connection is FIFO; what really races: an ack overtaken by the order's fills and
        # cancel-ack (it travels another path, e.g. REST entry with WebSocket fills), and fills
        # delivered again after a reconnect.
        if rnd.random() < 0.5:
            mine = [ev for ev in mine if not isinstance(ev, Accepted)] + [ev for ev in mine if isinstance(ev, Accepted)]
        mine += [ev for ev in mine if isinstance(ev, Fill) and rnd.random() < 0.3]
        for ev in mine:
            if isinstance(ev, Accepted):
                m.on_ack(ev.order_id, ev.venue_order_id, i)
            elif isinstance(ev, Rejected):
                m.on_reject(ev.order_id, ev.code, i)
            elif isinstance(ev, Fill):
                m.on_fill(VenueFill(ev.order_id, ev.seq, "P", ev.side, ev.qty, ev.price, ev.fee, i), i)
            elif isinstance(ev, Cancelled):
                m.on_cancel_ack(ev.order_id, i)
            elif isinstance(ev, CancelRejected):
                m.on_cancel_reject(ev.order_id, ev.code, i)
    venue_pos = e.accounts["agent"].positions.get("P")
    mine_pos = m.positions.get("P")
    assert (venue_pos.size if venue_pos else 0) == (mine_pos.size if mine_pos else 0)
    assert (venue_pos.realized if venue_pos else 0) == (mine_pos.realized if mine_pos else 0)
    assert (venue_pos.cost if venue_pos else 0) == (mine_pos.cost if mine_pos else 0)
    assert {o.order_id for o in e.open_orders("agent")} == set(m.live)
    assert all(a.kind == "duplicate_fill" for a in m.anomalies), m.anomalies
