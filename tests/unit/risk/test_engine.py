"""Each control trips exactly at its threshold and not before, and says why."""

from agenthft.book import L2Book
from agenthft.matching.accounts import CASH_DECIMALS
from agenthft.model import Instrument, InstrumentKind, Side
from agenthft.oms import OrderManager, VenueFill
from agenthft.risk import Reason, RiskConfig, RiskEngine, RiskEvent, RiskState

PERP = Instrument("P", "BTC", "USDC", InstrumentKind.PERP, tick_size="1", lot_size="1")  # 1 lot x 1 tick = 1 USDC
S = 1_000_000_000  # ns per second
CASH = 10**CASH_DECIMALS


def setup(**cfg) -> tuple[RiskEngine, OrderManager, L2Book]:
    risk = RiskEngine(RiskConfig(**{"stale_ms": 0, "max_orders_per_s": 0, **cfg}), [PERP])
    oms = OrderManager([PERP])
    book = L2Book("P")
    book.load_snapshot([(99, 5)], [(101, 5)])
    return risk, oms, book


def must(ev: RiskEvent | None) -> RiskEvent:
    assert ev is not None, "expected the control to trip"
    return ev


def check(risk, oms, book, qty=1, price=100, side=Side.BUY, t=0):
    return risk.check("P", side, qty, price, t, book, oms)


def test_consecutive_faults_trip_the_kill_switch_at_n():
    risk, oms, book = setup(max_consecutive_faults=3)
    assert risk.on_reject("insufficient_balance", 1) is None
    assert risk.on_reject("bad_price", 2) is None
    risk.on_ack(3)  # an ack resets the run
    assert risk.on_reject("unknown_market", 4) is None and risk.on_reject("insufficient_balance", 5) is None
    ev = risk.on_reject("insufficient_balance", 6)
    assert ev is not None and ev.reason is Reason.KILL_SWITCH_FAULTS
    assert (ev.value, ev.limit) == ("3 (last insufficient_balance)", "3")
    assert risk.state is RiskState.HALTED and risk.cancel_all_requested
    assert check(risk, oms, book).reason is Reason.HALTED
    assert risk.reject_summary() == {
        "faults": 5,
        "benign": 0,
        "by_code": {"bad_price": 1, "insufficient_balance": 3, "unknown_market": 1},
    }


def test_benign_rejects_are_counted_apart_and_do_not_trip_the_fault_kill_switch():
    """A maker's post-only quotes refused because the market moved are normal: 50 of them in a
    row leave the fault count at zero and the agent active; they trip their own, higher
    threshold only when every quote is refused for that long."""
    risk, oms, book = setup(max_consecutive_faults=3, max_consecutive_benign=60)
    for t in range(50):
        assert risk.on_reject("post_only_would_cross", t) is None
    assert risk.on_reject("no_liquidity", 50) is None
    assert (risk.faults, risk.benign, risk.consecutive_faults) == (0, 51, 0)
    assert risk.state is RiskState.ACTIVE and check(risk, oms, book, t=51) is None
    # a fault between benign rejects starts its own run; benign ones do not reset it
    assert risk.on_reject("bad_qty", 52) is None and risk.on_reject("post_only_would_cross", 53) is None
    assert risk.consecutive_faults == 1 and risk.consecutive_benign == 52
    for t in range(54, 62):
        ev = risk.on_reject("post_only_would_cross", t)
    assert ev is not None and ev.reason is Reason.KILL_SWITCH_BENIGN
    assert (ev.value, ev.limit) == ("60 (last post_only_would_cross)", "60")
    assert risk.reject_summary()["faults"] == 1 and risk.reject_summary()["benign"] == 60


def test_benign_run_resets_on_an_ack_and_zero_turns_it_off():
    risk, _, _ = setup(max_consecutive_benign=2)
    assert risk.on_reject("post_only_would_cross", 1) is None
    risk.on_ack(2)
    assert risk.on_reject("post_only_would_cross", 3) is None
    assert must(risk.on_reject("post_only_would_cross", 4)).reason is Reason.KILL_SWITCH_BENIGN
    off, _, _ = setup(max_consecutive_benign=0)
    assert all(off.on_reject("no_liquidity", t) is None for t in range(1000))
    assert off.state is RiskState.ACTIVE and off.benign == 1000


def test_an_unknown_reject_code_counts_as_a_fault():
    risk, _, _ = setup(max_consecutive_faults=2)
    assert risk.on_reject("something_new", 1) is None
    assert must(risk.on_reject("something_new", 2)).reason is Reason.KILL_SWITCH_FAULTS
    assert risk.faults == 2 and risk.benign == 0


def test_venue_rate_limit_is_a_fault_and_backs_off():
    risk, oms, book = setup(max_consecutive_faults=2)
    ev = risk.on_reject("rate_limited", 0)
    assert ev is not None and ev.reason is Reason.EXCHANGE_RATE_LIMIT and risk.state is RiskState.ACTIVE
    assert risk.faults == 1
    assert check(risk, oms, book, t=S - 1).reason is Reason.EXCHANGE_RATE_LIMIT
    assert check(risk, oms, book, t=S) is None
    risk.on_retry_after(2, 5 * S)
    assert check(risk, oms, book, t=7 * S - 1) is not None and check(risk, oms, book, t=7 * S) is None
    assert must(risk.on_reject("rate_limited", 8 * S)).reason is Reason.KILL_SWITCH_FAULTS, "two in a row halt"


def test_circuit_breaker_throttles_at_the_rate_with_a_reason():
    risk, oms, book = setup(max_orders_per_s=3)
    assert [check(risk, oms, book, t=i) for i in range(3)] == [None, None, None]
    ev = check(risk, oms, book, t=3)
    assert ev.reason is Reason.CIRCUIT_BREAKER and ev.action == "throttle" and (ev.value, ev.limit) == ("4", "3/s")
    assert check(risk, oms, book, t=S) is None, "the window slides"


def test_position_limit_denies_increasing_and_passes_reducing_orders():
    risk, oms, book = setup(position_limit="500")
    assert check(risk, oms, book, qty=5, price=100) is None  # exactly 500: allowed
    ev = check(risk, oms, book, qty=6, price=100)
    assert ev.reason is Reason.POSITION_LIMIT and (ev.value, ev.limit) == ("600.00", "500.00")
    o = oms.new_order("P", Side.BUY, 5, 100)
    oms.on_fill(VenueFill(o.order_id, 1, "P", Side.BUY, 5, 100, 0, 0), 0)
    assert check(risk, oms, book, qty=1, price=100).reason is Reason.POSITION_LIMIT
    assert check(risk, oms, book, qty=5, price=100, side=Side.SELL) is None, "reducing passes"
    assert str(ev).startswith("POSITION_LIMIT: market=P value=600.00 limit=500.00")


def test_open_orders_count_towards_the_position_limit():
    risk, oms, book = setup(position_limit="500")
    oms.new_order("P", Side.BUY, 4, 100)
    assert check(risk, oms, book, qty=1) is None
    assert check(risk, oms, book, qty=2).reason is Reason.POSITION_LIMIT


def test_daily_loss_limit_halts_and_cancels_everything_at_the_limit():
    risk, _, _ = setup(daily_loss_limit="100")
    assert risk.on_pnl(-50 * CASH, -49 * CASH, 0) is None
    ev = must(risk.on_pnl(-50 * CASH, -50 * CASH, 1))
    assert ev.reason is Reason.DAILY_LOSS and ev.action == "cancel_all" and risk.state is RiskState.HALTED
    assert risk.cancel_all_requested


def test_pnl_threshold_goes_reduce_only_then_halts():
    risk, oms, book = setup(reduce_at_loss="50", pnl_kill="80")
    assert risk.on_pnl(-49 * CASH, 0, 0) is None
    assert must(risk.on_pnl(-50 * CASH, 0, 1)).action == "reduce" and risk.state is RiskState.REDUCING
    assert check(risk, oms, book).reason is Reason.REDUCE_ONLY
    assert must(risk.on_pnl(-80 * CASH, 0, 2)).reason is Reason.PNL_KILL and risk.state is RiskState.HALTED


def test_stale_data_blocks_orders_and_asks_to_pull_quotes_once_per_episode():
    risk, oms, book = setup(stale_ms=50)
    assert check(risk, oms, book, t=0).reason is Reason.STALE_DATA, "no data yet"
    assert risk.on_market_data("P", data_ts_ns=0, recv_ns=50_000_000) is None  # arrived exactly 50 ms old
    assert check(risk, oms, book, t=10 * S) is None, "a quiet book is not stale"
    ev = must(risk.on_market_data("P", data_ts_ns=S, recv_ns=S + 50_000_001))
    assert (ev.reason, ev.action, ev.value, ev.limit) == (Reason.STALE_DATA, "pull", "50.0ms", "50ms")
    assert risk.pull == {"P"}
    risk.pull.clear()  # the runtime pulled the quotes
    for i in range(100):  # still stale on every message: no second pull
        assert risk.on_market_data("P", data_ts_ns=S + i, recv_ns=S + i + 80_000_000) is None
    assert not risk.pull
    denied = check(risk, oms, book, t=2 * S)
    assert denied.reason is Reason.STALE_DATA and denied.action == "deny" and not risk.pull
    assert risk.stale_markets(2 * S) == ["P"]
    risk.on_market_data("P", data_ts_ns=3 * S, recv_ns=3 * S + 30_000_000)  # under 50 but over 25: same episode
    assert risk.stale_markets(3 * S) == ["P"]
    risk.on_market_data("P", data_ts_ns=3 * S, recv_ns=3 * S + 1_000)
    assert check(risk, oms, book, t=3 * S) is None and risk.stale_markets(3 * S) == []
    assert must(risk.on_market_data("P", data_ts_ns=4 * S, recv_ns=4 * S + 60_000_000)).action == "pull"


def test_events_stay_bounded_and_counted_and_the_first_trip_is_kept():
    risk, oms, book = setup()
    risk.manual_override(1, "test")
    for i in range(5000):
        assert check(risk, oms, book, t=2 + i).reason is Reason.HALTED
    assert len(risk.events) == 1000 and risk.counts["halted"] == 5000
    assert must(risk.first_trip).reason is Reason.MANUAL_OVERRIDE and list(risk.trips) == [risk.first_trip]


def test_circuit_breaker_is_capped_under_the_venue_limit():
    risk, _, _ = setup(max_orders_per_s=50)
    assert risk.cap_order_rate(100) == 50, "already under 80 % of the venue's limit"
    assert risk.cap_order_rate(20) == 16
    assert setup(max_orders_per_s=0)[0].cap_order_rate(100) == 80, "off becomes the venue's 80 %"


def test_connection_loss_and_rtt_over_threshold_cancel_everything():
    risk, oms, book = setup(max_rtt_ms=2)
    assert risk.on_rtt(2_000_000, 0) is None
    ev = must(risk.on_rtt(2_000_001, 1))
    assert ev.reason is Reason.RTT_LIMIT and risk.cancel_all_requested
    assert check(risk, oms, book).reason is Reason.RTT_LIMIT
    risk.on_rtt(1_000_000, 2)
    assert check(risk, oms, book) is None, "RTT recovered"
    assert must(risk.on_connection(False, 3)).reason is Reason.CONNECTION_LOST
    assert check(risk, oms, book).reason is Reason.CONNECTION_LOST


def test_fat_finger_notional_price_band_and_open_orders():
    risk, oms, book = setup(max_order_notional="1000", price_band_bps=500, max_open_orders=2)
    assert check(risk, oms, book, qty=10, price=100) is None
    assert check(risk, oms, book, qty=11, price=100).reason is Reason.MAX_ORDER_NOTIONAL
    assert check(risk, oms, book, price=105) is None  # 500 bps from the mid of 100
    assert check(risk, oms, book, price=106).reason is Reason.PRICE_BAND
    oms.new_order("P", Side.BUY, 1, 100)
    oms.new_order("P", Side.BUY, 1, 100)
    assert check(risk, oms, book).reason is Reason.MAX_OPEN_ORDERS


def test_manual_override_halts_and_resume_reactivates():
    risk, oms, book = setup()
    ev = risk.manual_override(5, "SIGUSR1")
    assert ev.reason is Reason.MANUAL_OVERRIDE and ev.value == "SIGUSR1" and risk.cancel_all_requested
    assert check(risk, oms, book).reason is Reason.HALTED
    risk.resume(6)
    assert check(risk, oms, book) is None


def test_docs_table_is_generated_from_the_reason_enum():
    from pathlib import Path

    from agenthft.risk.engine import DOCS, table_markdown

    assert set(DOCS) == set(Reason), "every reason code is documented"
    doc = (Path(__file__).resolve().parents[3] / "docs" / "risk.md").read_text()
    inside = doc.split("<!-- table:begin -->")[1].split("<!-- table:end -->")[0].strip()
    assert inside == table_markdown()


def test_docs_reject_code_table_is_generated_from_the_code_tables():
    from pathlib import Path

    from agenthft.risk.engine import BENIGN_CODES, FAULT_CODES, codes_markdown

    assert not set(BENIGN_CODES) & set(FAULT_CODES)
    assert {"post_only_would_cross", "no_liquidity"} <= set(BENIGN_CODES)
    doc = (Path(__file__).resolve().parents[3] / "docs" / "risk.md").read_text()
    inside = doc.split("<!-- codes:begin -->")[1].split("<!-- codes:end -->")[0].strip()
    assert inside == codes_markdown()


def test_an_order_under_the_venues_minimum_notional_is_denied_here_not_rejected_there():
    small = Instrument("P", "BTC", "USDC", InstrumentKind.PERP, tick_size="1", lot_size="1", min_notional="250")
    risk = RiskEngine(RiskConfig(stale_ms=0, max_orders_per_s=0), [small])
    oms = OrderManager([small])
    book = L2Book("P")
    book.load_snapshot([(99, 5)], [(101, 5)])
    ev = check(risk, oms, book, qty=2, price=100)  # 200 < 250
    assert ev.reason is Reason.MIN_NOTIONAL and (ev.value, ev.limit, ev.action) == ("200.00", "250.00", "deny")
    assert risk.consecutive_faults == 0 and risk.state is RiskState.ACTIVE, "a local denial is not a venue fault"
    assert check(risk, oms, book, qty=3, price=100) is None and not risk.send_reduce_only  # 300: passes
    ev = risk.check("P", Side.BUY, 2, None, 0, book, oms)  # a market order is judged at the mid (100)
    assert ev is not None and ev.reason is Reason.MIN_NOTIONAL
    o = oms.new_order("P", Side.BUY, 3, 100)
    oms.on_fill(VenueFill(o.order_id, 1, "P", Side.BUY, 3, 100, 0, 0), 0)
    # closing 2 of the 3 lots: under the minimum; without reduce-only at the port it cannot go
    assert check(risk, oms, book, qty=2, price=99, side=Side.SELL).reason is Reason.MIN_NOTIONAL
    risk.venue_reduce_only = True
    assert check(risk, oms, book, qty=2, price=99, side=Side.SELL) is None and risk.send_reduce_only
    assert check(risk, oms, book, qty=4, price=60, side=Side.SELL).reason is Reason.MIN_NOTIONAL, "4 > 3 flips"
    assert check(risk, oms, book, qty=3, price=100) is None and not risk.send_reduce_only, "the flag is per order"


def test_an_instrument_refuses_a_negative_or_malformed_minimum_notional():
    for bad in ("-1", "nan", "abc"):
        try:
            Instrument("P", "BTC", "USDC", InstrumentKind.PERP, tick_size="1", lot_size="1", min_notional=bad)
        except (ValueError, ArithmeticError):
            continue
        raise AssertionError(f"min_notional={bad!r} was taken")


def test_pnl_is_watched_only_with_a_pnl_limit_and_from_when_one_is_set_live():
    """The runtime skips working out P&L on every mark move when no P&L limit is set; a limit
    set live is watched from the next move on."""
    risk, _, _ = setup()
    assert not risk.watches_pnl
    risk.reconfigure({"daily_loss_limit": "100"})
    assert risk.watches_pnl
    assert must(risk.on_pnl(-100 * CASH, 0, 1)).reason is Reason.DAILY_LOSS
    for field in ("pnl_kill", "reduce_at_loss"):
        one, _, _ = setup(**{field: "5"})
        assert one.watches_pnl, field
        one.reconfigure({field: "0"})
        assert not one.watches_pnl, field
