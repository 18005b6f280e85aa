"""Recorded captures replayed into the matching engine: the recorded book reproduced, and the
queue model for an agent's orders."""

from pathlib import Path

from agenthft.market.cache import EventCache
from agenthft.market.events import Events
from agenthft.market.replay import REPLAY, EventReplay, verify_engine_replay
from agenthft.market.sources import load_events
from agenthft.matching import Fill, MatchingEngine, text_to_cash
from agenthft.model import OrderType, Side


def spot(data: Path) -> list[Path]:
    return [data / "hftbacktest/spot/btcusdt_20240808.gz", data / "hftbacktest/spot/btcusdt_20240809.gz"]


def spot_rows(data: Path, cache: Path) -> Events:
    return load_events(spot(data), cache=EventCache(cache))


def test_with_no_agent_the_engine_reproduces_every_bookticker_check(data: Path, events_cache: Path):
    r = verify_engine_replay(spot(data), EventCache(events_cache))
    assert (r.checks_passed, r.checks_failed) == (1072, 0), r.failures
    r = verify_engine_replay([data / "hftbacktest/usdm/btcusdt_20240808.gz"], EventCache(events_cache))
    assert (r.checks_passed, r.checks_failed) == (629, 0), r.failures


def test_a_passive_agent_order_fills_only_after_the_queue_ahead_is_gone(data: Path, events_cache: Path):
    engine = MatchingEngine()
    rows = spot_rows(data, events_cache)
    rep = EventReplay(engine, rows)
    engine.deposit("agent", "USDT", text_to_cash("10000000"))
    m = engine.markets[rep.market]
    c = rows.columns
    ends = rows.message_ends()
    agent_price = None
    queue_at_join = 0
    traded_at_price = 0
    filled_after = None
    swept = False
    for n, (_, _, kind) in enumerate(rep.steps()):
        last = ends[n] - 1  # the message's last row
        events = engine.drain()
        if agent_price is None and kind == "book" and n > 2000:
            agent_price = m.bids.best_price()
            assert agent_price is not None
            queue_at_join = m.bids.levels[agent_price].visible
            engine.submit("agent", "a1", rep.market, Side.BUY, 100_000, agent_price, OrderType.LIMIT, 0, rep.now_ns)
            engine.drain()
            continue
        if agent_price is None:
            continue
        # a recorded sell hitting bids (the buyer was the maker) at the agent's price
        if kind == "trade" and c["side"][last] < 0 and c["price"][last] <= agent_price:
            traded_at_price += c["qty"][last]  # recorded selling at or through the agent's price
        fills = [e for e in events if isinstance(e, Fill) and e.account == "agent"]
        if fills:
            filled_after = traded_at_price
            best_ask = m.asks.best_price()
            swept = best_ask is not None and best_ask <= agent_price  # the recorded book moved through it
            o = engine.order("agent", "a1")
            level = m.bids.levels.get(agent_price)
            ahead = level.ahead_of(o)[1] if (o is not None and level is not None) else 0
            assert ahead == 0, "nothing of the replay queue is left ahead of a filled agent"
            break
        if n > 60_000:
            break
    assert agent_price is not None and queue_at_join > 0
    assert filled_after is not None, "recorded selling at the agent's price reached it"
    assert filled_after > 0 or swept, "it filled before any recorded selling reached its price"


def test_a_marketable_agent_order_consumes_replay_liquidity_until_the_level_refreshes(data: Path, events_cache: Path):
    engine = MatchingEngine()
    rows = spot_rows(data, events_cache)
    rep = EventReplay(engine, rows)
    engine.deposit("agent", "USDT", text_to_cash("100000000"))
    m = engine.markets[rep.market]
    c = rows.columns
    ends = rows.message_ends()
    steps = rep.steps()
    n = 0
    for n, (_, _, kind) in enumerate(steps):
        if kind == "book" and n > 2000:
            break
    engine.drain()
    ask = m.asks.best_price()
    assert ask is not None
    before = m.asks.levels[ask].visible
    engine.submit("agent", "take", rep.market, Side.BUY, before, ask, OrderType.IOC, 0, rep.now_ns)
    fills = [e for e in engine.drain() if isinstance(e, Fill) and e.account == "agent"]
    assert sum(f.qty for f in fills) == before and all(f.price == ask for f in fills)
    assert ask not in m.asks.levels, "the level is consumed"
    for _, _, kind in steps:
        n += 1
        engine.drain()
        first = ends[n - 1] if n else 0
        rows_of = range(first, ends[n])
        if kind == "book" and any(c["side"][i] < 0 and c["price"][i] == ask for i in rows_of):
            recorded = rep.books[rep.market].ask_qty(ask)
            shown = m.asks.levels[ask].visible if ask in m.asks.levels else 0
            assert shown == recorded, "the recording refreshed the level"
            assert engine.accounts[REPLAY].orders or recorded == 0
            break
