"""Recorded captures replayed into the matching engine: the recorded book reproduced, and the
queue model for an agent's orders."""

from pathlib import Path

from agenthft.market.replay import REPLAY, BinanceReplay, verify_engine_replay
from agenthft.matching import Fill, MatchingEngine, text_to_cash
from agenthft.model import OrderType, Side


def spot(data: Path) -> list[Path]:
    return [data / "hftbacktest/spot/btcusdt_20240808.gz", data / "hftbacktest/spot/btcusdt_20240809.gz"]


def test_with_no_agent_the_engine_reproduces_every_bookticker_check(data: Path):
    r = verify_engine_replay(spot(data))
    assert (r.checks_passed, r.checks_failed) == (1072, 0), r.failures
    r = verify_engine_replay([data / "hftbacktest/usdm/btcusdt_20240808.gz"])
    assert (r.checks_passed, r.checks_failed) == (629, 0), r.failures


def test_a_passive_agent_order_fills_only_after_the_queue_ahead_is_gone(data: Path):
    engine = MatchingEngine()
    rep = BinanceReplay(engine, spot(data))
    engine.deposit("agent", "USDT", text_to_cash("10000000"))
    m = engine.markets[rep.market]
    steps = rep.steps()
    agent_price = None
    queue_at_join = 0
    traded_at_price = 0
    filled_after = None
    for n, (_, kind, payload) in enumerate(steps):
        events = engine.drain()
        if agent_price is None and kind == "depth" and n > 2000:
            agent_price = m.bids.best_price()
            assert agent_price is not None
            queue_at_join = m.bids.levels[agent_price].visible
            engine.submit("agent", "a1", rep.market, Side.BUY, 100_000, agent_price, OrderType.LIMIT, 0, rep.now_ns)
            engine.drain()
            continue
        if agent_price is None:
            continue
        # a recorded sell hitting bids (the buyer was the maker) at the agent's price
        if kind == "trade" and payload.m and rep.grid.price_to_ticks(payload.p) == agent_price:  # type: ignore[attr-defined]
            traded_at_price += rep.grid.qty_to_lots(payload.q)  # type: ignore[attr-defined]
        fills = [e for e in events if isinstance(e, Fill) and e.account == "agent"]
        if fills:
            filled_after = traded_at_price
            o = engine.order("agent", "a1")
            level = m.bids.levels.get(agent_price)
            ahead = level.ahead_of(o)[1] if (o is not None and level is not None) else 0
            assert ahead == 0, "nothing of the replay queue is left ahead of a filled agent"
            break
        if n > 60_000:
            break
    assert agent_price is not None and queue_at_join > 0
    assert filled_after is not None, "recorded selling at the agent's price reached it"
    assert filled_after > 0, "it did not fill before any recorded trade at its price"


def test_a_marketable_agent_order_consumes_replay_liquidity_until_the_level_refreshes(data: Path):
    engine = MatchingEngine()
    rep = BinanceReplay(engine, spot(data))
    engine.deposit("agent", "USDT", text_to_cash("100000000"))
    m = engine.markets[rep.market]
    steps = rep.steps()
    for n, (_, kind, _) in enumerate(steps):
        if kind == "depth" and n > 2000:
            break
    engine.drain()
    ask = m.asks.best_price()
    assert ask is not None
    before = m.asks.levels[ask].visible
    engine.submit("agent", "take", rep.market, Side.BUY, before, ask, OrderType.IOC, 0, rep.now_ns)
    fills = [e for e in engine.drain() if isinstance(e, Fill) and e.account == "agent"]
    assert sum(f.qty for f in fills) == before and all(f.price == ask for f in fills)
    assert ask not in m.asks.levels, "the level is consumed"
    for _, kind, payload in steps:
        engine.drain()
        if kind == "depth" and any(rep.grid.price_to_ticks(p) == ask for p, _ in payload.a):  # type: ignore[attr-defined]
            recorded = rep.sync.book.ask_qty(ask)
            shown = m.asks.levels[ask].visible if ask in m.asks.levels else 0
            assert shown == recorded, "the recording refreshed the level"
            assert engine.accounts[REPLAY].orders or recorded == 0
            break
