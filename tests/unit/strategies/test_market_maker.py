"""The market maker: decisions on given books (no network), then the favourable and adverse
simulated regimes in backtest."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from agenthft.backtest import Backtest, Constant, Summary
from agenthft.book import L2Book
from agenthft.model import ContractMath, Instrument, InstrumentKind, OrderStatus, OrderType, Side
from agenthft.oms import ClientOrder, PositionBook
from agenthft.signals import MarketSignals, SignalEvent
from agenthft.strategies.market_maker import MarketMaker

P = Instrument("P", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.001", "-0.0001", "0.0005")


@dataclass
class Oms:
    positions: dict[str, PositionBook] = field(default_factory=dict)
    orders: dict[str, ClientOrder] = field(default_factory=dict)

    def open_orders(self, market: str | None = None) -> list[ClientOrder]:
        return [o for o in self.orders.values() if o.live]


@dataclass
class Ctx:
    now_ns: int = 1_000_000_000
    books: dict[str, L2Book] = field(default_factory=lambda: {"P": L2Book("P")})
    instruments: dict[str, Instrument] = field(default_factory=lambda: {"P": P})
    oms: Oms = field(default_factory=Oms)
    signals: dict[str, MarketSignals] = field(default_factory=dict)
    sent: list[tuple[Side, int]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def submit(self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT):
        assert order_type is OrderType.POST_ONLY and price is not None
        self.sent.append((side, price))
        o = ClientOrder(f"o{len(self.sent)}", market, side, qty, price, order_type, 0)
        o.status = OrderStatus.OPEN
        self.oms.orders[o.order_id] = o
        return o

    def cancel(self, order_id: str) -> bool:
        self.cancelled.append(order_id)
        self.oms.orders[order_id].status = OrderStatus.PENDING_CANCEL
        return True

    def cancel_all(self, market: str | None = None) -> None:
        pass

    def position(self, lots: int) -> None:
        p = PositionBook(ContractMath(Instrument("P", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.001")))
        p.size = lots
        self.oms.positions["P"] = p


def mm(**kw: object) -> tuple[MarketMaker, Ctx]:
    s = MarketMaker("P", qty="0.01", half_spread=2, skew_ticks=4, max_position="0.05", **kw)  # type: ignore[arg-type]
    ctx = Ctx()
    s.on_start(ctx)
    ctx.books["P"].load_snapshot([(600_000, 10)], [(600_010, 30)], 1)  # bid qty 10, ask qty 30
    return s, ctx


def test_quotes_straddle_the_microprice_and_skew_against_inventory():
    s, ctx = mm()
    # microprice = (600000 x 30 + 600010 x 10) / 40 = 600002.5: the thin ask side is where it goes
    assert s.fair(ctx) == pytest.approx(600_002.5)
    s.on_book(ctx, "P")
    assert ctx.sent == [(Side.BUY, 600_000), (Side.SELL, 600_005)]
    s2, ctx2 = mm()
    ctx2.position(50)  # long at the cap (0.05): no bid, the ask pulled 4 ticks lower
    s2.on_book(ctx2, "P")
    assert ctx2.sent == [(Side.SELL, 600_001)]


def test_a_small_move_keeps_the_queue_position_a_large_one_requotes():
    s, ctx = mm(requote_ticks=2, min_requote_ms=0)
    s.on_book(ctx, "P")
    ctx.books["P"].load_snapshot([(600_001, 10)], [(600_011, 30)], 2)  # fair +1 tick
    s.on_book(ctx, "P")
    assert len(ctx.sent) == 2 and not ctx.cancelled
    ctx.books["P"].load_snapshot([(600_010, 10)], [(600_020, 30)], 3)  # +10 ticks
    s.on_book(ctx, "P")
    assert len(ctx.cancelled) == 2 and ctx.sent[-2:] == [(Side.BUY, 600_010), (Side.SELL, 600_015)]


def test_a_spoof_is_faded_to_the_mid_and_a_cascade_pulls_both_quotes():
    s, ctx = mm()
    s.on_signal(ctx, SignalEvent("spoof", "P", Side.BUY, 600_000, ctx.now_ns, 500.0, "fade"))
    assert s.fair(ctx) == 600_005.0  # the sizes are not trusted
    s.on_book(ctx, "P")
    s.on_signal(ctx, SignalEvent("cancel_cascade", "P", Side.BUY, 599_990, ctx.now_ns, 5.0, "pull_quotes"))
    assert len(ctx.cancelled) == 2
    ctx.now_ns += 100_000_000
    s.on_book(ctx, "P")
    assert len(ctx.sent) == 2, "paused: no new quotes"


def run(scenario: str, fade: bool = True) -> tuple[MarketMaker, Summary]:
    s = MarketMaker("BTC-PERP", "0.01", 2, 4, "0.05", fade_spoofs=fade)
    return s, Backtest(s, scenario, 30, Constant(300, 300, 300), seed=1).run().summary


def test_makes_money_on_calm_as_a_maker():
    _, summary = run("calm")
    assert summary.pnl_after_fees > 0 and summary.maker_share == 1.0 and summary.fills > 100


def test_fading_spoofs_reduces_adverse_selection_on_manipulated():
    faded, _ = run("manipulated", fade=True)
    plain, _ = run("manipulated", fade=False)
    assert faded.spoofs > 10 and plain.spoofs == 0
    assert faded.adverse_selection_ticks is not None and plain.adverse_selection_ticks is not None
    assert faded.adverse_selection_ticks > plain.adverse_selection_ticks


def test_stays_inside_its_limits_in_a_crash():
    _, s = run("crash")
    assert abs(float(s.max_abs_position["BTC-PERP"])) <= 0.05
    assert not {"halted", "kill_switch_faults", "kill_switch_benign"} & set(s.risk_counts)


def test_under_a_multi_venue_agent_signals_and_fills_reach_it_qualified():
    """Run as one market of a two-venue agent, the maker still gets the detectors' events and its
    fills' markouts, named VENUE:MARKET like everything else it sees."""
    from agenthft.venue.config import load_config

    s = MarketMaker("agenthft:BTC-PERP", "0.01", 2, 4, "0.05")
    cfgs = [load_config("default"), load_config("venue-b")]
    Backtest(s, "manipulated", 15, Constant(300, 300, 300), seed=1, venue_config=cfgs).run()
    assert s.spoofs > 0 and s.markouts, (s.spoofs, len(s.markouts))
