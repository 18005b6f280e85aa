"""The quoter's decisions, no network: given these books, these orders."""

from __future__ import annotations

from agenthft.book import L2Book
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.oms import ClientOrder, OrderManager, VenueFill
from agenthft.signals import MarketSignals
from agenthft.strategies import Quoter

PERP = Instrument("P", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")
MS = 1_000_000


class Ctx:
    """The strategy's context with an instant venue: orders are acked, cancels answered."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.books = {"P": L2Book("P")}
        self.oms = OrderManager([PERP], prefix="q")
        self.instruments = {"P": PERP}
        self.signals: dict[str, MarketSignals] = {}
        self.sent: list[tuple[str, Side, int | None]] = []
        self.cancels: list[str] = []
        self.deny = False

    def submit(
        self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT
    ) -> ClientOrder | None:
        if self.deny:
            return None
        assert order_type is OrderType.POST_ONLY
        o = self.oms.new_order(market, side, qty, price, order_type, self.now_ns)
        self.oms.on_ack(o.order_id, len(self.sent), self.now_ns)
        self.sent.append(("new", side, price))
        return o

    def cancel(self, order_id: str) -> bool:
        self.cancels.append(order_id)
        self.oms.request_cancel(order_id, self.now_ns)
        self.oms.on_cancel_ack(order_id, self.now_ns)
        return True

    def cancel_all(self, market: str | None = None) -> None:
        raise AssertionError("the quoter never cancels everything")

    def book(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]], t_ms: int) -> None:
        self.now_ns = t_ms * MS
        self.books["P"].load_snapshot(bids, asks)


def started(
    half_spread: int = 3, bids: tuple[int, int] = (599_990, 10), asks: tuple[int, int] = (600_010, 10), **kw: object
) -> tuple[Quoter, Ctx]:
    q = Quoter("P", "0.005", half_spread, "60000", **kw)  # type: ignore[arg-type]
    ctx = Ctx()
    ctx.book([bids], [asks], 0)
    q.on_start(ctx)
    return q, ctx


def test_quotes_half_spread_around_the_mid():
    _, ctx = started()
    assert ctx.sent == [("new", Side.BUY, 599_997), ("new", Side.SELL, 600_003)]


def test_its_own_quote_at_the_touch_does_not_move_its_target():
    q, ctx = started(half_spread=1)  # others 599,990 x 600,010: ours 599,999 x 600,001
    assert ctx.sent == [("new", Side.BUY, 599_999), ("new", Side.SELL, 600_001)]
    # our bid is now the best bid: a mid taken from the raw book would be 600,004.5 and move us
    ctx.book([(599_999, 5), (599_990, 10)], [(600_010, 10)], 100)
    q.on_book(ctx, "P")
    assert len(ctx.sent) == 2 and not ctx.cancels, "the book with our own quote in it changes nothing"


def test_small_moves_keep_the_queue_and_big_moves_requote_spaced_in_time():
    q, ctx = started()  # requote at 3 ticks (the half spread), 50 ms apart
    ctx.book([(599_992, 10)], [(600_012, 10)], 100)  # mid +2 ticks
    q.on_book(ctx, "P")
    assert not ctx.cancels
    ctx.book([(600_000, 10)], [(600_020, 10)], 200)  # mid +10 ticks: both sides move
    q.on_book(ctx, "P")
    assert len(ctx.cancels) == 2 and ctx.sent[-2:] == [("new", Side.BUY, 600_007), ("new", Side.SELL, 600_013)]
    ctx.book([(600_100, 10)], [(600_120, 10)], 210)  # another big move 10 ms later: waits
    q.on_book(ctx, "P")
    assert len(ctx.cancels) == 2
    ctx.book([(600_100, 10)], [(600_120, 10)], 260)
    q.on_book(ctx, "P")
    assert len(ctx.cancels) == 4


def test_never_crosses_the_others_best_price():
    _, ctx2 = started(half_spread=0, bids=(599_999, 10), asks=(600_000, 10))  # a one-tick spread
    bid, ask = ctx2.sent[0][2], ctx2.sent[1][2]
    assert bid is not None and ask is not None and bid < 600_000 and ask > 599_999


def test_a_filled_quote_is_replaced_at_once_a_denied_one_waits():
    q, ctx = started()
    bid = q.quotes[Side.BUY]
    assert bid is not None
    ctx.now_ns = 5 * MS
    ctx.oms.on_fill(VenueFill(bid.order_id, 1, "P", Side.BUY, 5, 599_997, 0, 0), ctx.now_ns)
    q.on_order_done(ctx, bid)
    assert ctx.sent[-1][:2] == ("new", Side.BUY)
    ctx.deny = True
    ctx.now_ns = 6 * MS
    filled_again = q.quotes[Side.BUY]
    assert filled_again is not None
    ctx.oms.on_fill(VenueFill(filled_again.order_id, 2, "P", Side.BUY, 5, 599_997, 0, 0), ctx.now_ns)
    attempts = len(ctx.sent)
    for t in range(7, 40):  # every book update within 50 ms: no new attempt after the denial
        ctx.book([(599_990, 10)], [(600_010, 10)], t)
        q.on_book(ctx, "P")
    assert len(ctx.sent) == attempts and q.quotes[Side.BUY] is None


def test_max_position_stops_the_side_that_would_grow_it():
    q, ctx = started(max_position="0.005")
    bid = q.quotes[Side.BUY]
    assert bid is not None
    ctx.oms.on_fill(VenueFill(bid.order_id, 1, "P", Side.BUY, 5, 599_997, 0, 0), 1)
    ctx.now_ns = 100 * MS
    q.on_order_done(ctx, bid)
    assert q.quotes[Side.BUY] is None and q.quotes[Side.SELL] is not None
