"""Random order flow through the engine, checked against the naive reference matcher and
the ledger's invariants after every command."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.book import L2Book
from agenthft.matching import (
    AmendRejected,
    BookDelta,
    EngineConfig,
    Fill,
    MatchingEngine,
    Order,
    Rejected,
    text_to_cash,
)
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderType, Side

from .reference_matcher import ReferenceMatcher

PERP = Instrument(
    "P",
    "BTC",
    "USDC",
    InstrumentKind.PERP,
    tick_size="0.5",
    lot_size="0.01",
    maker_fee="-0.0002",
    taker_fee="0.0007",
)
SPOT = Instrument(
    "S",
    "ETH",
    "USDC",
    InstrumentKind.SPOT,
    tick_size="0.01",
    lot_size="0.001",
    maker_fee="0.0001",
    taker_fee="0.0003",
)
#: an inverse perp (Binance COIN-M style): 100 USD per contract, P&L, fees and margin in BTC
INVERSE = Instrument(
    "I",
    "BTC",
    "USD",
    InstrumentKind.PERP,
    tick_size="0.1",
    lot_size="1",
    maker_fee="-0.0001",
    taker_fee="0.0005",
    contract_size="100",
    inverse=True,
)
ACCOUNTS = ("a", "b", "c")
BAND = 300
FUNDS = text_to_cash("1000000000")

submit_op = st.tuples(
    st.just("submit"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(list(Side)),
    st.integers(95, 105),
    st.integers(1, 12),
    st.sampled_from([OrderType.LIMIT] * 4 + [OrderType.IOC, OrderType.MARKET, OrderType.POST_ONLY]),
    st.integers(0, 4),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 200))
reduce_op = st.tuples(st.just("reduce"), st.integers(0, 200), st.integers(1, 5))
# amend: (order index, price change in ticks, new remaining lots)
amend_op = st.tuples(st.just("amend"), st.integers(0, 200), st.integers(-3, 3), st.integers(1, 12))
ops_strategy = st.lists(st.one_of(submit_op, submit_op, submit_op, cancel_op, reduce_op, amend_op), max_size=120)


def new_engine(inst: Instrument) -> MatchingEngine:
    e = MatchingEngine([inst], EngineConfig(market_band_bps=BAND))
    for a in ACCOUNTS:
        for asset in {"USDC", inst.quote, inst.base}:
            e.deposit(a, asset, FUNDS)
    return e


def run(inst: Instrument, ops: list[Any], check: bool = True) -> tuple[MatchingEngine, list[Any]]:
    e = new_engine(inst)
    ref = ReferenceMatcher(BAND)
    replica = L2Book(inst.market)
    replica.load_snapshot([], [], 0)
    orders: list[Order] = []
    post_only: set[str] = set()
    ids: list[tuple[str, str]] = []
    all_events: list[Any] = []
    for i, op in enumerate(ops):
        if op[0] == "submit":
            _, acct, side, price, qty, kind, peak = op
            peak = peak if kind in (OrderType.LIMIT, OrderType.POST_ONLY) and peak < qty else 0
            oid = f"o{i}"
            ids.append((acct, oid))
            if kind is OrderType.POST_ONLY:
                post_only.add(oid)
            o = e.submit(acct, oid, inst.market, side, qty, None if kind is OrderType.MARKET else price, kind, peak, i)
            outcome, ref_fills = ref.submit(oid, acct, side, price, qty, kind, peak)
            if o is not None:
                orders.append(o)
        elif op[0] == "cancel" and ids:
            acct, oid = ids[op[1] % len(ids)]
            assert e.cancel(acct, oid, i) == ref.cancel(oid, acct)
            outcome, ref_fills = "cancel", []
        elif op[0] == "reduce" and ids:
            acct, oid = ids[op[1] % len(ids)]
            o = e.order(acct, oid)
            if o is not None:
                by = op[2]
                e.reduce(acct, oid, by, i)
                for r in ref.resting:
                    if r.order_id == oid:
                        r.remaining -= min(by, r.remaining)
                        r.display = min(r.display, r.remaining)
                        if r.remaining == 0:
                            ref.resting.remove(r)
                        elif r.display == 0:
                            r.display = min(r.peak, r.remaining)
                            r.stamp = ref._next()
                        break
            outcome, ref_fills = "reduce", []
        elif op[0] == "amend" and ids:
            acct, oid = ids[op[1] % len(ids)]
            o = e.order(acct, oid)
            outcome, ref_fills = "amend", []
            if o is not None:
                price, remaining = o.price + op[2], op[3]
                qty = o.qty - o.remaining + remaining
                changed = e.amend(acct, oid, price, qty, i)
                outcome, ref_fills = ref.amend(oid, acct, price, remaining, oid in post_only)
                assert changed == (outcome == "amended"), f"op {i} {op}: engine {changed}, reference {outcome}"
                if changed:
                    assert o.qty == qty and o.filled + o.remaining + o.cancelled == o.qty
        else:
            continue
        events = e.drain()
        all_events += events
        if not check:
            continue
        fills = [ev for ev in events if isinstance(ev, Fill)]
        got = [(m.order_id, t.order_id, m.price, m.qty) for m, t in zip(fills[::2], fills[1::2], strict=True)]
        assert got == ref_fills, f"op {i} {op}"
        rejected = [ev.code for ev in events if isinstance(ev, (Rejected, AmendRejected))]
        if outcome in ("no_liquidity", "post_only_would_cross", "no_change", "bad_price"):
            assert rejected == [outcome]
        else:
            assert rejected == []
        assert e.l2(inst.market) == ref.l2(), f"op {i}: L2 differs from reference"
        for ev in events:
            if isinstance(ev, BookDelta):
                replica.apply(ev.bids, ev.asks, ev.book_seq)
        assert (replica.bids(), replica.asks()) == e.l2(inst.market), "BookDelta stream does not rebuild the book"
        assert not any(f.order_id in post_only and f.liquidity is Liquidity.TAKER for f in fills)
        bids, asks = e.l2(inst.market)
        assert not (bids and asks and bids[0][0] >= asks[0][0]), "crossed at rest"
    if check:
        check_ledger(e, inst, orders)
    return e, all_events


def check_ledger(e: MatchingEngine, inst: Instrument, orders: list[Order]) -> None:
    for o in orders:
        assert o.filled + o.remaining + o.cancelled == o.qty, o
        assert 0 <= o.display <= o.remaining
        if o.peak:
            assert o.display <= o.peak, "iceberg reserve shows in the book"
    cash = inst.settle_asset if inst.kind is InstrumentKind.PERP else inst.quote
    total_cash = sum(a.balances.get(cash, 0) - sum(p.cost for p in a.positions.values()) for a in e.accounts.values())
    assert total_cash == len(ACCOUNTS) * FUNDS, "cash not conserved (fees included)"
    for other in {inst.base, inst.quote} - {cash}:
        assert sum(a.balances.get(other, 0) for a in e.accounts.values()) == len(ACCOUNTS) * FUNDS
    assert sum(p.size for a in e.accounts.values() for p in a.positions.values()) == 0
    for a in e.accounts.values():
        open_holds = sum(o.hold for o in e.open_orders(a.id))
        assert sum(a.holds.values()) == open_holds, f"{a.id}: holds do not match open orders"
        for p in a.positions.values():
            mine = [o for o in e.open_orders(a.id)]
            assert p.open_buy == sum(o.remaining for o in mine if o.side is Side.BUY)
            assert p.open_sell == sum(o.remaining for o in mine if o.side is Side.SELL)


@settings(max_examples=150, deadline=None)
@given(ops_strategy)
def test_perp_engine_matches_reference_and_conserves(ops):
    run(PERP, ops)


@settings(max_examples=100, deadline=None)
@given(ops_strategy)
def test_inverse_perp_engine_matches_reference_and_conserves_the_coin(ops):
    run(INVERSE, ops)


@settings(max_examples=100, deadline=None)
@given(ops_strategy)
def test_spot_engine_matches_reference_and_conserves(ops):
    run(SPOT, ops)


@settings(max_examples=50, deadline=None)
@given(ops_strategy)
def test_same_inputs_give_the_same_events_byte_for_byte(ops):
    _, first = run(PERP, ops, check=False)
    _, second = run(PERP, ops, check=False)
    enc = msgspec.json.Encoder()
    assert enc.encode(first) == enc.encode(second)


@settings(max_examples=50, deadline=None)
@given(ops_strategy)
def test_fill_events_replay_into_the_same_positions_and_balances(ops):
    e, events = run(PERP, ops, check=False)
    size: dict[str, int] = {}
    fees: dict[str, int] = {}
    for ev in events:
        if isinstance(ev, Fill):
            size[ev.account] = size.get(ev.account, 0) + (ev.qty if ev.side is Side.BUY else -ev.qty)
            fees[ev.account] = fees.get(ev.account, 0) + ev.fee
    for a in ACCOUNTS:
        acct = e.accounts[a]
        pos = acct.positions.get("P")
        assert size.get(a, 0) == (pos.size if pos else 0)
        realized = pos.realized if pos else 0
        assert acct.balances["USDC"] == FUNDS + realized - fees.get(a, 0)
    assert e.accounts["venue"].balances.get("USDC", 0) == sum(fees.values())


fok_op = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(list(Side)), st.integers(95, 105), st.integers(1, 40))


@settings(max_examples=100, deadline=None)
@given(ops_strategy, st.lists(fok_op, min_size=1, max_size=5))
def test_fillable_is_exactly_what_an_ioc_fills(ops, probes):
    """Fill-or-kill decides from `fillable`: it must equal what the same order as an IOC gets."""
    e, _ = run(PERP, ops, check=False)
    for n, (acct, side, price, qty) in enumerate(probes):
        expected = e.fillable(acct, "P", side, price, qty)
        e.drain()
        e.submit(acct, f"fok{n}", "P", side, qty, price, OrderType.IOC, 0, 10_000 + n)
        got = sum(ev.qty for ev in e.drain() if isinstance(ev, Fill) and ev.order_id == f"fok{n}")
        assert got == expected
