"""The compiled data path and the pure-Python one give byte-identical results, equal to what the
reference loop produced on the same real captures (digests stored below, computed by the pure-Python
loop: every message shown to the strategy).

The digests move only with the model, on purpose and said so in the commit: they were first taken by
the code before the compiled path (c696198), and retaken when a message's market data came to be
delivered before the fills it caused at the same instant (the compiled loop agreed with the old
digests before that change and with the new ones after it).

`TodaysBbo` is the bbo-quoter exactly as it was when the digests were taken, so that a later change
to the shipped strategy does not move the reference; it is run once as it was (no interest declared:
woken on every message) and once declaring what it reads (top of book prices), which lets the
compiled path skip the messages that change nothing it sees: the results must not move either way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agenthft import compiled
from agenthft.backtest.data import DataBacktest
from agenthft.connectors.simulated.latency import Constant, Jittered
from agenthft.market.cache import EventCache
from agenthft.market.events import Events
from agenthft.market.sources import load_events
from agenthft.model import OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.risk.engine import safe_defaults
from agenthft.strategies import Quoter
from agenthft.strategies.base import Context, Interest, Strategy
from tests.backtest_digest import digest

needs_compiled = pytest.mark.skipif(not compiled.AVAILABLE, reason=compiled.NOTE)

#: computed by the pure-Python loop, one run each (the market data of a message before its fills)
EXPECTED = {
    "bbo-usdm-1ms-power2": "2bc2731bd509140299683fc5905626cd8515036ab4ea756f897b7f4d5df5c758",  # 952 orders, 462 fills
    "bbo-usdm-touch-jitter-pessimistic-safe": "f7855d8e908226394f73e5f85bd095a79b629d1cb3b46da0f25b0104851c24d9",
    "quoter-usdm-300us": "1b78c78e9e4da137c32b91f822930eced950c7617739c7ecccf15d4ae680052d",  # 1562 orders
    "bbo-coinm-1ms-power3": "4f3948b4aed0e8d8e75018b8622df9372db99f82020306bbaf87b56749276d0b",  # inverse, 2 files
}


class TodaysBbo(Strategy):
    """The bbo-quoter as it was at c696198 (cancel and replace on every move of its best)."""

    name = "bbo-quoter"

    def __init__(self, market: str, qty: str = "0.001", ticks: int = 1) -> None:
        self.market = market
        self.markets = (market,)
        self._qty_text, self.ticks = qty, ticks
        self.qty = 0
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}

    def on_start(self, ctx: Context) -> None:
        self.qty = ctx.instruments[self.market].qty_to_lots(self._qty_text)

    def on_book(self, ctx: Context, market: str) -> None:
        if market != self.market:
            return
        book = ctx.books[market]
        bid, ask = book.best_bid(), book.best_ask()
        for side, best in ((Side.BUY, bid), (Side.SELL, ask)):
            if best is None:
                continue
            price = best - self.ticks if side is Side.BUY else best + self.ticks
            o = self.quotes[side]
            if o is not None and o.live:
                if o.price == price:
                    continue
                if not ctx.cancel(o.order_id):
                    continue
            self.quotes[side] = ctx.submit(market, side, self.qty, price, OrderType.POST_ONLY)


class WatchingBbo(TodaysBbo):
    """The same decisions, declaring what they read: the best price of each side."""

    interest = Interest(depth=1, sizes=False)


D = "hftbacktest"
CASES: dict[str, tuple[list[str], Callable[[Events, bool, type[TodaysBbo]], DataBacktest]]] = {
    "bbo-usdm-1ms-power2": (
        [f"{D}/usdm/btcusdt_20240808.gz"],
        lambda ev, c, S: DataBacktest(S("BTC-PERP"), ev, Constant(0, 1000, 0), queue="power2", compiled=c),
    ),
    "bbo-usdm-touch-jitter-pessimistic-safe": (  # a seeded random latency, P&L limits on (risk looks every message)
        [f"{D}/usdm/btcusdt_20240808.gz"],
        lambda ev, c, S: DataBacktest(
            S("BTC-PERP", ticks=0), ev, Jittered(300, 200, 3), queue="pessimistic", risk=safe_defaults(), compiled=c
        ),
    ),
    "quoter-usdm-300us": (  # declares nothing and acts on time: woken by every message
        [f"{D}/usdm/btcusdt_20240808.gz"],
        lambda ev, c, S: DataBacktest(Quoter("BTC-PERP", "0.001", 1, "60000"), ev, Constant(300, 300, 300), compiled=c),
    ),
    "bbo-coinm-1ms-power3": (  # inverse contracts, two files chained
        [f"{D}/cm/btcusd_perp_20240808.gz", f"{D}/cm/btcusd_perp_20240809.gz"],
        lambda ev, c, S: DataBacktest(
            S(ev.markets[0].market, "1", 1), ev, Constant(0, 1000, 0), queue="power3", compiled=c
        ),
    ),
}

_events: dict[tuple[str, ...], Events] = {}


def rows(data: Path, files: list[str], cache: Path) -> Events:
    key = tuple(files)
    if key not in _events:
        _events[key] = load_events([data / f for f in files], cache=EventCache(cache))
    return _events[key]


@pytest.fixture(scope="module")
def cache(events_cache: Path) -> Path:
    return events_cache


@pytest.mark.parametrize("case", list(CASES))
def test_the_pure_python_loop_gives_the_stored_results(case: str, data: Path, cache: Path):
    files, make = CASES[case]
    assert digest(make(rows(data, files, cache), False, TodaysBbo).run()) == EXPECTED[case]


@needs_compiled
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("strategy", [TodaysBbo, WatchingBbo], ids=["woken-every-message", "woken-on-what-it-reads"])
def test_the_compiled_loop_gives_the_same_bytes(case: str, strategy: type[TodaysBbo], data: Path, cache: Path):
    files, make = CASES[case]
    bt = make(rows(data, files, cache), True, strategy)
    assert digest(bt.run()) == EXPECTED[case]
    if strategy is WatchingBbo and case == "bbo-usdm-1ms-power2":
        assert bt.runner.book_views < bt.deliveries / 10  # and it did skip: most messages change no best price


@needs_compiled
def test_a_strategy_that_reads_deeper_than_it_declared_sees_a_different_market(data: Path, cache: Path):
    """The check can fail: declaring less than it reads changes the decisions (here the quoter's
    targets come from 8 levels; declared 1, prices only)."""

    class Undeclared(Quoter):
        interest = Interest(depth=1, sizes=False)

    files, _ = CASES["quoter-usdm-300us"]
    ev = rows(data, files, cache)
    res = DataBacktest(Undeclared("BTC-PERP", "0.001", 1, "60000"), ev, Constant(300, 300, 300), compiled=True).run()
    assert digest(res) != EXPECTED["quoter-usdm-300us"]
