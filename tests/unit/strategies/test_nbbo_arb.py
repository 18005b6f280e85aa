"""Cross-venue NBBO arbitrage: decisions on given books (no network), the legging rule, and the
strategy on two simulated venues on one clock (MultiRunner in backtest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from agenthft.backtest import Backtest, Constant
from agenthft.book import L2Book
from agenthft.model import ContractMath, Instrument, InstrumentKind, OrderType, Side
from agenthft.oms import ClientOrder, PositionBook
from agenthft.signals import MarketSignals
from agenthft.strategies.nbbo_arb import NbboArb
from agenthft.venue.config import load_config

A = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.001", "-0.0001", "0.0005")
B = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.01", "0.001", "0.0002", "0.0004")


@dataclass
class Oms:
    positions: dict[str, PositionBook] = field(default_factory=dict)
    orders: dict[str, ClientOrder] = field(default_factory=dict)

    def open_orders(self, market: str | None = None) -> list[ClientOrder]:
        return [o for o in self.orders.values() if o.live and market in (None, o.market)]


@dataclass
class Ctx:
    now_ns: int = 0
    books: dict[str, L2Book] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=lambda: {"a:BTC-PERP": A, "b:BTCUSDT": B})
    oms: Oms = field(default_factory=Oms)
    signals: dict[str, MarketSignals] = field(default_factory=dict)
    sent: list[tuple[str, Side, int, int | None, OrderType]] = field(default_factory=list)

    def submit(self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT):
        self.sent.append((market, side, qty, price, order_type))
        o = ClientOrder(f"o{len(self.sent)}", market, side, qty, price, order_type, 0)
        self.oms.orders[o.order_id] = o
        return o

    def cancel(self, order_id: str) -> bool:
        return True

    def cancel_all(self, market: str | None = None) -> None:
        pass

    def book(self, market: str, bid: tuple[int, int], ask: tuple[int, int]) -> None:
        b = self.books.setdefault(market, L2Book(market))
        b.load_snapshot([bid], [ask], 1)


def arb(**kw: object) -> NbboArb:
    return NbboArb(["a:BTC-PERP", "b:BTCUSDT"], **kw)  # type: ignore[arg-type]


def test_no_trade_inside_twice_the_fees_then_both_legs_as_iocs_past_it():
    s, ctx = arb(qty="0.01"), Ctx()
    s.on_start(ctx)
    ctx.book("b:BTCUSDT", (5_999_000, 50), (5_999_500, 50))  # 59,990.00 / 59,995.00
    ctx.book("a:BTC-PERP", (600_050, 50), (600_060, 50))  # bid 60,005.0: +10 over b's ask = 1.7 bp
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == []  # fees are 9 bp a pair; 2x is 18 bp
    ctx.book("a:BTC-PERP", (601_200, 7), (601_210, 50))  # bid 60,120.0: 20.8 bp over 59,995.00
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [
        ("a:BTC-PERP", Side.SELL, 7, 601_200, OrderType.IOC),  # the smaller top: 0.007
        ("b:BTCUSDT", Side.BUY, 7, 5_999_500, OrderType.IOC),
    ]
    s.on_book(ctx, "b:BTCUSDT")
    assert len(ctx.sent) == 2, "no new pair while one is open"


def test_a_naked_leg_is_closed_on_its_own_venue_crossing_the_spread():
    s, ctx = arb(qty="0.01", unwind_ticks=5), Ctx()
    s.on_start(ctx)
    ctx.book("a:BTC-PERP", (601_200, 50), (601_210, 50))
    ctx.book("b:BTCUSDT", (6_011_000, 50), (6_011_500, 50))  # no cross
    pos = PositionBook(ContractMath(Instrument("P", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.001")))
    pos.size = -7  # the sell filled, the buy did not
    ctx.oms.positions["a:BTC-PERP"] = pos
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [("a:BTC-PERP", Side.BUY, 7, 601_215, OrderType.IOC)]


def test_two_venues_on_one_clock_the_arb_earns_on_dislocations_and_ends_flat():
    bt = Backtest(
        NbboArb(["agenthft:BTC-PERP", "venue-b:BTCUSDT"], qty="0.01"),
        "cross-venue",
        30,
        Constant(100, 100, 100),
        seed=5,
        venue_config=[load_config("default"), load_config("venue-b")],
        max_net={"BTC": "0.05"},
    )
    s = bt.run().summary
    strat = bt.runner.strategy
    assert isinstance(strat, NbboArb) and strat.pairs >= 5
    assert s.pnl_after_fees > 0 and s.fills >= 2 * strat.pairs - strat.unwinds
    net = sum(float(v) for v in s.final_position.values())
    assert abs(net) < 1e-9, s.final_position
    assert set(s.final_position) <= {"agenthft:BTC-PERP", "venue-b:BTCUSDT"}


def test_in_an_adverse_two_venue_crash_it_stays_inside_every_limit():
    """Crash dynamics on both venues (volatile jumps, cancel cascades pulling size) while venue b
    reprices late: the arb trades into a falling, thinning market. Every limit holds: the net
    exposure cap across venues, each venue's position limit, and no halt."""
    import msgspec

    from agenthft.market.sim.scenario import ParticipantSpec, Underlying, load_scenario
    from agenthft.risk import RiskConfig

    base = load_scenario("cross-venue")
    crash = msgspec.structs.replace(
        base,
        name="cross-venue-crash",
        underlyings=[Underlying("BTC", "60000", ["BTC-PERP", "BTCUSDT"], vol_ticks=60, jump_rate=1.0, jump_ticks=1500)],
        participants=[
            *base.participants,
            *(
                ParticipantSpec("cancel_cascade", m, f"sim-cascade-{m}", size="0.03", orders=8, drop_ticks=200)
                for m in ("BTC-PERP", "BTCUSDT")
            ),
        ],
    )
    risk = RiskConfig(position_limit="3100")  # about 0.05 BTC of notional per market
    bt = Backtest(
        NbboArb(["agenthft:BTC-PERP", "venue-b:BTCUSDT"], qty="0.01", fee_multiple=1.0),
        crash,
        30,
        Constant(100, 100, 100),
        seed=3,
        venue_config=[load_config("default"), load_config("venue-b")],
        risk=risk,
        max_net={"BTC": "0.02"},
    )
    s = bt.run().summary
    strat = bt.runner.strategy
    assert isinstance(strat, NbboArb) and strat.pairs > 0, "it traded"
    assert abs(sum(float(v) for v in s.final_position.values())) <= 0.02
    for m, q in s.max_abs_position.items():
        assert float(q) <= 0.06, (m, q)  # the position limit (0.05 BTC of notional) plus one clip in flight
    assert not {"halted", "kill_switch_faults", "kill_switch_benign"} & set(s.risk_counts), s.risk_counts


def test_a_cross_whose_legs_are_under_a_venues_minimum_order_value_is_left_alone():
    """Hyperliquid refuses orders under 10 USD: one refused leg would leave the other naked."""
    small_b = Instrument(
        "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.01", "0.001", "0.0002", "0.0004", min_notional="100"
    )
    s, ctx = arb(qty="0.01"), Ctx()
    ctx.instruments["b:BTCUSDT"] = small_b
    s.on_start(ctx)
    ctx.book("b:BTCUSDT", (5_999_000, 50), (5_999_500, 50))
    ctx.book("a:BTC-PERP", (601_200, 1), (601_210, 50))  # top 0.001 BTC: 60 USD < 100
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [] and s.small == 1
    ctx.book("a:BTC-PERP", (601_200, 2), (601_210, 50))  # 0.002 BTC: 120 USD on both legs
    s.on_book(ctx, "a:BTC-PERP")
    assert [m for m, *_ in ctx.sent] == ["a:BTC-PERP", "b:BTCUSDT"]


def test_what_the_naked_venues_lot_cannot_express_is_closed_on_a_finer_grained_venue():
    """A leg filled in part on a finer-grained venue (Hyperliquid's 0.00001 BTC against a 0.001
    lot) leaves exposure off the coarse venue's grid: the whole lots close there, the rest on the
    fine venue at its minimum order value, and what neither can trade is left and counted (the
    unwind raised GridError on every book before, and the arb never traded again)."""
    fine = Instrument("BTC", "BTC", "USDC", InstrumentKind.PERP, "1", "0.00001", "0.0001", "0.00035", min_notional="10")
    s, ctx = arb(qty="0.01", unwind_ticks=5), Ctx()
    s.markets = ("a:BTC-PERP", "h:BTC")
    ctx.instruments = {"a:BTC-PERP": A, "h:BTC": fine}
    s.on_start(ctx)
    ctx.book("a:BTC-PERP", (601_200, 50), (601_210, 50))
    ctx.book("h:BTC", (60_119, 500_000), (60_121, 500_000))  # no cross

    def positions(a_lots: int, h_lots: int) -> None:
        for market, inst, lots in (("a:BTC-PERP", A, a_lots), ("h:BTC", fine, h_lots)):
            p = ctx.oms.positions[market] = PositionBook(ContractMath(inst))
            p.size = lots
        ctx.oms.orders.clear()
        ctx.sent.clear()
        s.next_unwind_ns, s.unwinding = 0, None  # the last unwind answered

    positions(-6, 278)  # sold 0.006 on a, bought 0.00278 on h: short 0.00322
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [("a:BTC-PERP", Side.BUY, 3, 601_215, OrderType.IOC)]  # the whole lots, reducing
    positions(-3, 278)  # short 0.00022: under a's lot
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [("h:BTC", Side.BUY, 22, 60_126, OrderType.IOC)]  # 13.2 USDC: over h's 10
    positions(-3, 295)  # short 0.00005: 3 USDC, under h's minimum, and a's lot
    s.on_book(ctx, "a:BTC-PERP")
    assert ctx.sent == [] and s.residual == Decimal("-0.00005")
