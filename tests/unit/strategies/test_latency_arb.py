"""The latency arbitrage's decisions, no network: given the leader's and follower's books, these orders."""

from __future__ import annotations

from agenthft.book import L2Book
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.oms import ClientOrder, OrderManager, VenueFill
from agenthft.signals import MarketSignals
from agenthft.strategies import LatencyArb

SPOT = Instrument("S", "BTC", "USDC", InstrumentKind.SPOT, tick_size="0.01", lot_size="0.001", taker_fee="0.0005")
PERP = Instrument("F", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001", taker_fee="0.0005")
MS = 1_000_000


class Ctx:
    def __init__(self) -> None:
        self.now_ns = 0
        self.books = {"S": L2Book("S"), "F": L2Book("F")}
        self.oms = OrderManager([SPOT, PERP], prefix="x")
        self.instruments = {"S": SPOT, "F": PERP}
        self.signals: dict[str, MarketSignals] = {}
        self.sent: list[tuple[Side, int, int]] = []

    def submit(
        self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT
    ) -> ClientOrder | None:
        assert market == "F" and order_type is OrderType.IOC and price is not None
        o = self.oms.new_order(market, side, qty, price, order_type, self.now_ns)
        self.oms.on_fill(
            VenueFill(o.order_id, len(self.sent) + 1, market, side, qty, price, 0, self.now_ns), self.now_ns
        )
        self.sent.append((side, qty, price))
        return o

    def cancel(self, order_id: str) -> bool:
        return False

    def cancel_all(self, market: str | None = None) -> None:
        pass


def arb(**kw: object) -> tuple[LatencyArb, Ctx]:
    params = {"leader": "S", "follower": "F", "qty": "0.001", "margin_bps": 1.0, "fresh_ms": 5.0}
    params |= {"max_position": "0.003", "exit_ticks": 2, "basis_alpha": 0.0} | kw
    a = LatencyArb(**params)  # type: ignore[arg-type]
    ctx = Ctx()
    a.on_start(ctx)
    return a, ctx


def books(ctx: Ctx, spot_mid: int, perp_bid: int, perp_ask: int, t_ms: float, market: str, a: LatencyArb) -> None:
    ctx.now_ns = int(t_ms * MS)
    ctx.books["S"].load_snapshot([(spot_mid - 1, 10)], [(spot_mid + 1, 10)])
    ctx.books["F"].load_snapshot([(perp_bid, 10)], [(perp_ask, 10)])
    a.on_book(ctx, market)


def test_a_fresh_leader_move_past_fees_buys_the_lagging_follower():
    a, ctx = arb()
    books(ctx, 6_000_000, 599_999, 600_001, 0, "S", a)  # aligned: basis learned, nothing to do
    assert ctx.sent == []
    # the spot jumps 60 USDC (0.1 %): fair 600,600 perp ticks; fee 0.05 % + 1 bp = 360 ticks of edge needed
    books(ctx, 6_006_000, 599_999, 600_001, 1, "S", a)
    assert ctx.sent == [(Side.BUY, 1, 600_001)]


def test_a_move_smaller_than_the_fees_is_left_alone():
    a, ctx = arb()
    books(ctx, 6_000_000, 599_999, 600_001, 0, "S", a)
    books(ctx, 6_003_000, 599_999, 600_001, 1, "S", a)  # 30 USDC: 300 ticks of edge < 360
    assert ctx.sent == []


def test_a_stale_leader_move_is_not_acted_on():
    a, ctx = arb()
    books(ctx, 6_000_000, 599_999, 600_001, 0, "S", a)
    books(ctx, 6_006_000, 599_999, 600_001, 1, "S", a)
    ctx.sent.clear()
    ctx.oms.positions.clear()
    books(ctx, 6_006_000, 599_999, 600_001, 7, "F", a)  # 6 ms after the move: over fresh_ms
    assert ctx.sent == []


def test_it_sells_on_a_drop_takes_the_profit_and_respects_the_cap():
    a, ctx = arb()
    books(ctx, 6_000_000, 599_999, 600_001, 0, "S", a)
    for k in range(5):  # four more chances, the cap is three lots
        books(ctx, 5_994_000 - k, 599_999, 600_001, 1 + k * 0.1, "S", a)
    assert ctx.sent == [(Side.SELL, 1, 599_999)] * 3
    books(ctx, 5_994_000, 599_399, 599_401, 2, "F", a)  # the follower repriced to fair: flatten
    assert ctx.sent[-1] == (Side.BUY, 3, 599_401)
    assert ctx.oms.positions["F"].size == 0


def test_in_an_adverse_crash_with_spoofs_and_cascades_it_stays_inside_every_limit():
    """Lead-lag markets with crash dynamics on the perp (cancel cascades pulling its bids,
    spoofers flashing size): the arb trades into gaps and fake liquidity. Its position cap, the
    risk engine's position limit and loss kill hold; nothing halts."""
    import msgspec

    from agenthft.backtest import Backtest, Constant
    from agenthft.market.sim.scenario import ParticipantSpec, load_scenario
    from agenthft.risk import RiskConfig
    from agenthft.strategies import LatencyArb, LatencyArbParams

    base = load_scenario("lead-lag")
    adverse = msgspec.structs.replace(
        base,
        name="lead-lag-adverse",
        participants=[
            *base.participants,
            ParticipantSpec("cancel_cascade", "BTC-PERP", "sim-cascade", size="0.03", orders=8, drop_ticks=400),
            ParticipantSpec("spoofer", "BTC-PERP", "sim-spoof", size="0.5"),
        ],
    )
    risk = RiskConfig(position_limit="1300", pnl_kill="50")  # ~0.02 BTC of notional; halt at -50 USDC
    arb = LatencyArb.from_params(LatencyArbParams(max_position="0.02"))
    bt = Backtest(arb, adverse, 12, Constant(300, 300, 300), seed=4, risk=risk)
    s = bt.run().summary
    assert s.fills > 0, "it traded"
    assert float(s.max_abs_position["BTC-PERP"]) <= 0.021  # the cap, plus nothing in flight past it
    assert "halted" not in s.risk_counts and "pnl_kill" not in s.risk_counts, s.risk_counts
