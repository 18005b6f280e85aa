"""Queue position estimates: placement, trades from the front, cancels by model."""

from agenthft.model import Side
from agenthft.signals.queue import QueueEstimator

B, S = Side.BUY, Side.SELL


def placed(model: str) -> QueueEstimator:
    q = QueueEstimator(model)
    q.place("me", B, 100, 1, visible_before=10)  # 10 lots ahead of us
    q.on_level(B, 100, 11)  # our own lot shows up
    q.on_level(B, 100, 15)  # 4 lots join behind us
    return q


def test_placement_puts_the_visible_quantity_ahead_and_later_adds_behind():
    q = placed("proportional")
    assert q.ahead("me") == 10


def test_trades_eat_the_queue_from_the_front():
    q = placed("pessimistic")
    q.on_trade(100, 6, S, 1)
    q.on_level(B, 100, 9)
    assert q.ahead("me") == 4
    q.on_trade(100, 5, S, 2)  # past everything ahead: a fill is expected
    assert q.ahead("me") == 0 and q.orders["me"].expects_fill


def test_cancels_are_apportioned_by_the_model():
    # level 15 = 10 ahead + 1 ours + 4 behind; 6 lots are cancelled
    expected = {"pessimistic": 8, "optimistic": 4, "proportional": 6}
    for model, ahead in expected.items():
        q = placed(model)
        q.on_level(B, 100, 9)
        assert q.ahead("me") == ahead, model


def test_fill_probability_grows_with_the_horizon_and_the_trade_rate():
    q = QueueEstimator("proportional")
    q.place("me", B, 100, 1, visible_before=1000)
    q.on_level(B, 100, 1001)
    for k in range(1, 50):
        q.on_trade(99, 1, S, k * 1_000_000)  # trades at another price do not count
    assert q.fill_probability("me", 10**9) == 0.0
    for k in range(1, 50):
        q.on_trade(100, 1, S, (50 + k) * 1_000_000)  # 1 lot per ms at our price
        q.on_level(B, 100, 1001)  # refilled behind us
    short, long = q.fill_probability("me", 10**6), q.fill_probability("me", 10**9)
    assert short is not None and long is not None and 0 < short < long <= 1
