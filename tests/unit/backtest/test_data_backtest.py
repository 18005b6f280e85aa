"""Backtests on recorded data: normalised rows, the Parquet cache, the L2 model end to end."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from agenthft import compiled
from agenthft.backtest.data import DataBacktest
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.cache import EventCache, content_key
from agenthft.market.events import ASK, BID, LEVEL, TRADE, Events, Meta
from agenthft.market.feeds import binance
from agenthft.market.sources import load_events
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.oms import ClientOrder, VenueFill
from agenthft.risk import RiskConfig
from agenthft.strategies import Quoter
from agenthft.strategies.base import Context, Strategy
from agenthft.strategies.bbo_quoter import BboQuoter
from tests.rows import rebuild

S = 1_000_000_000
needs_compiled = pytest.mark.skipif(not compiled.AVAILABLE, reason=compiled.NOTE)


@pytest.fixture(scope="module")
def usdm(data: Path) -> Path:
    return data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"


@pytest.fixture(scope="module")
def cache_dir(events_cache: Path) -> Path:
    return events_cache


@pytest.fixture(scope="module")
def events(usdm: Path, cache_dir: Path) -> Events:
    return load_events([usdm], cache=EventCache(cache_dir))


def test_rows_rebuild_the_book_the_verifier_rebuilds(usdm: Path, events: Events):
    """Applying the rows message by message ends in the same book as Binance's own bridging."""
    info = binance.probe_binance([usdm])
    sync = binance.BinanceDepthSync(info.instrument, info.futures)
    import msgspec

    from agenthft.market.feeds.capture import hftbacktest_lines

    env_dec, depth_dec = msgspec.json.Decoder(binance.Envelope), msgspec.json.Decoder(binance.DepthUpdate)
    for _, raw in hftbacktest_lines([usdm]):
        env = env_dec.decode(raw)
        if not env.data and env.lastUpdateId >= 0:
            sync.on_snapshot(env.lastUpdateId, env.bids, env.asks)
        elif "@depth" in env.stream:
            sync.on_depth(depth_dec.decode(env.data))
    book, _, crossed = rebuild(events, keep=False)
    c = events.columns
    assert book.bids() == sync.book.bids() and book.asks() == sync.book.asks()
    assert crossed == 0
    assert events.meta.counts["trade"] == sum(1 for k in c["kind"] if k == TRADE) == 21_313


def test_the_cache_is_keyed_by_content_not_name(usdm: Path, events: Events, cache_dir: Path, tmp_path: Path):
    renamed = tmp_path / "anything.bin"
    shutil.copy(usdm, renamed)
    assert content_key([usdm], "load") == content_key([renamed], "load")
    cache = EventCache(cache_dir)
    again = load_events([renamed], cache=cache)
    assert cache.hits == 1 and cache.misses == 0
    assert again.columns == events.columns and [m.market for m in again.markets] == ["BTCUSDT-PERP"]


def test_a_damaged_cache_entry_is_rebuilt_not_trusted(usdm: Path, tmp_path: Path):
    cache = EventCache(tmp_path)
    key = content_key([usdm], "load")
    cache.path(key).parent.mkdir(parents=True, exist_ok=True)
    cache.path(key).write_bytes(b"PAR1 not really parquet")
    ev = load_events([usdm], cache=cache)
    assert cache.misses == 1 and len(ev) > 400_000
    assert EventCache(tmp_path).get(key) is not None  # rewritten whole


def digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_a_data_backtest_is_deterministic_to_the_byte(events: Events, tmp_path: Path):
    runs = []
    for name in ("a", "b"):
        res = DataBacktest(BboQuoter("BTC-PERP"), events, Constant(0, 1000, 0), queue="power2").run()
        runs.append(digest(res.write(tmp_path / name)))
    assert runs[0] == runs[1]


def test_queue_models_order_the_fills_of_orders_joining_the_touch(events: Events):
    """Same orders, more pessimistic cancels -> fewer fills: the model is what decides."""
    fills = {}
    for q in ("pessimistic", "proportional", "optimistic"):
        s = DataBacktest(BboQuoter("BTC-PERP", ticks=0), events, Constant(300, 300, 300), queue=q).run().summary
        fills[q] = s.fills
        assert s.maker_share == 1.0
    assert fills["pessimistic"] < fills["proportional"] < fills["optimistic"], fills


def test_a_live_strategy_runs_on_recorded_data_unchanged_with_fees_and_risk(events: Events):
    s = DataBacktest(Quoter("BTC-PERP", "0.001", 1, "60000"), events, Constant(300, 300, 300)).run().summary
    assert s.orders > 500 and s.fills > 200 and s.maker_share == 1.0
    assert s.fees == pytest.approx(s.fills * 0.0002 * 0.001 * 61_000, rel=0.05)  # 2 bp maker on ~61k USD
    assert s.events == len(events)


class SeesBookThenFill(Strategy):
    """Rests an ask a tick above the touch once, then notes what it sees and when (its book's best
    prices, its fills)."""

    def __init__(self, market: str) -> None:
        self.markets = (market,)
        self.seen: list[tuple[str, int, int | None]] = []
        self.placed = False

    def on_book(self, ctx: Context, market: str) -> None:
        ask = ctx.books[market].best_ask()
        self.seen.append(("book", ctx.now_ns, ask))
        if not self.placed and ask is not None:
            self.placed = True
            ctx.submit(market, Side.SELL, 5, ask + 1, OrderType.POST_ONLY)

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        self.seen.append(("fill", ctx.now_ns, ctx.books[order.market].best_ask()))


@pytest.mark.parametrize("use_compiled", [False, pytest.param(True, marks=needs_compiled)], ids=["python", "compiled"])
def test_at_one_instant_the_agent_sees_the_book_a_message_made_before_the_fills_it_caused(use_compiled: bool):
    """A message trades through our ask and moves the book: the agent gets the new book, then the
    fill, at the same time, so that a decision on the fill prices off the book as it is (with the
    fill first, a re-quote used the book from before the trade, and its post-only orders were
    refused at arrival)."""
    inst = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "1")
    ev = Events(Meta("test", [], [inst]))
    ev.snapshot(S, S, 0, [(1000, 50)], [(1001, 50)], 1)
    t = 2 * S  # a buyer takes 1001 and 1002 (ours, 5 lots, nobody ahead): the ask moves to 1003
    ev.add(t, t, 0, TRADE, BID, 1001, 50)
    ev.add(t, t, 0, TRADE, BID, 1002, 5)
    ev.add(t, t, 0, LEVEL, ASK, 1001, 0)
    ev.add(t, t, 0, LEVEL, ASK, 1003, 40)
    ev.end_message()
    s = SeesBookThenFill("BTCUSDT")
    res = DataBacktest(s, ev, Constant(0, 0, 0), risk=RiskConfig(stale_ms=0), compiled=use_compiled).run()
    assert res.summary.fills == 1
    assert s.seen == [("book", S, 1001), ("book", t, 1003), ("fill", t, 1003)]


class RaisesOnFill(SeesBookThenFill):
    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        raise ZeroDivisionError("a strategy bug")


@pytest.mark.parametrize("use_compiled", [False, pytest.param(True, marks=needs_compiled)], ids=["python", "compiled"])
def test_a_backtest_stops_at_a_strategys_exception_where_live_would_halt_it(use_compiled: bool):
    """Live, a strategy's exception halts it (`Runner.strategy_failed`); a research run stops
    with the traceback instead of reporting a run that quietly stopped trading."""
    inst = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "1")
    ev = Events(Meta("test", [], [inst]))
    ev.snapshot(S, S, 0, [(1000, 50)], [(1001, 50)], 1)
    t = 2 * S
    ev.add(t, t, 0, TRADE, BID, 1002, 5)
    ev.add(t, t, 0, LEVEL, ASK, 1001, 0)
    ev.end_message()
    risk = RiskConfig(stale_ms=0)
    bt = DataBacktest(RaisesOnFill("BTCUSDT"), ev, Constant(0, 0, 0), risk=risk, compiled=use_compiled)
    with pytest.raises(ZeroDivisionError, match="a strategy bug"):
        bt.run()
