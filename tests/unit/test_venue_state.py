"""A venue rebuilt from its command log is the same venue (no network needed)."""

from pathlib import Path

from agenthft.model import OrderType, Side
from agenthft.venue import Venue, load_config


def test_replayed_venue_has_the_same_books_accounts_keys_and_history(tmp_path: Path):
    state = str(tmp_path / "venue.sqlite")
    a = Venue(load_config(), state)
    key_a, acc_a, _ = a.register("alice")
    key_b, acc_b, _ = a.register("bob")
    extra, _ = a.keys.create(acc_a, scopes=("read",))
    a.log_key(a.keys.authenticate(extra))  # type: ignore[arg-type]
    e = a.engine
    commands = [
        lambda: e.submit(acc_a, "a1", "BTC-PERP", Side.SELL, 10, 600000, ts_ns=1),
        lambda: e.submit(acc_a, "a2", "BTC-PERP", Side.SELL, 10, 600010, OrderType.LIMIT, 4, ts_ns=2),
        lambda: e.submit(acc_b, "b1", "BTC-PERP", Side.BUY, 15, 600010, OrderType.IOC, ts_ns=3),
        lambda: e.submit(acc_b, "b2", "BTC-PERP", Side.BUY, 5, 590000, ts_ns=4),
        lambda: e.cancel(acc_b, "b2", ts_ns=5),
        lambda: e.submit(acc_b, "b3", "ETH-PERP", Side.BUY, 5, 300000, ts_ns=6),
    ]
    for i, command in enumerate(commands):
        command()
        a._publish(i)  # as the venue does after every command
    b = Venue(load_config(), state)
    assert b.replayed == a.log.count  # type: ignore[union-attr]
    for market in ("BTC-PERP", "ETH-PERP"):
        assert b.engine.l2(market) == a.engine.l2(market)
        assert b.engine.markets[market].book_seq == a.engine.markets[market].book_seq
    for acc in (acc_a, acc_b, "venue"):
        assert b.engine.accounts[acc].balances == a.engine.accounts[acc].balances
        assert b.balances(acc) == a.balances(acc) and b.positions(acc) == a.positions(acc)
        assert b.fills(acc) == a.fills(acc) and b.finished_orders(acc) == a.finished_orders(acc)
        assert b.open_orders(acc) == a.open_orders(acc)
    for text in (key_a, key_b, extra):
        ka, kb = a.keys.authenticate(text), b.keys.authenticate(text)
        assert ka is not None and kb is not None and (kb.key_id, kb.scopes) == (ka.key_id, ka.scopes)
    assert b.agents == a.agents
    b.register("carol")  # the replayed venue keeps logging
    assert Venue(load_config(), state).agents.keys() == {"alice", "bob", "carol"}
