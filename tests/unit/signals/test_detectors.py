"""Each detector at its threshold and one step short of it, fed by hand: level changes and trades
as an agent sees them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.book import L2Book
from agenthft.model import Side
from agenthft.signals import MarketSignals, SignalConfig
from agenthft.signals.config import table_markdown

B, S = Side.BUY, Side.SELL
MS = 1_000_000


def warm(cfg: SignalConfig | None = None) -> tuple[MarketSignals, L2Book]:
    """A book 1000 x 1010 and a typical add of 10 lots learned from `warmup_adds` adds."""
    book = L2Book("P")
    sig = MarketSignals("P", book, cfg or SignalConfig())
    level(sig, book, B, 1000, 10, 0)
    level(sig, book, S, 1010, 10, 0)
    for k in range(sig.config.warmup_adds):
        p = 900 - k
        level(sig, book, B, p, 10, 0)
    sig.drain()
    return sig, book


def level(sig: MarketSignals, book: L2Book, side: Side, price: int, qty: int, t: int) -> None:
    book.set_level(side, price, qty)
    sig.on_level(side, price, qty, t)


def test_a_large_order_pulled_fast_is_a_spoof_and_one_kept_longer_is_not():
    sig, book = warm()
    level(sig, book, B, 998, 80, 1 * MS)  # 8 x typical: large
    level(sig, book, B, 998, 0, 61 * MS)  # pulled within 60 ms
    (ev,) = sig.drain()
    assert (ev.kind, ev.side, ev.price, ev.response) == ("spoof", B, 998, "fade")
    level(sig, book, B, 997, 80, 100 * MS)
    level(sig, book, B, 997, 0, 161 * MS + 1)  # 60 ms + 1 ns: too late for a spoof
    assert sig.drain() == []


def test_an_add_one_lot_short_of_large_is_never_a_spoof():
    sig, book = warm()
    level(sig, book, B, 998, 79, MS)
    level(sig, book, B, 998, 0, 2 * MS)
    assert sig.drain() == []


def test_a_large_order_traded_against_after_the_minimum_rest_is_absorption():
    sig, book = warm()
    level(sig, book, B, 1000, 10 + 200, 0)  # a large bid joins the touch
    sig.on_trade(1000, 5, S, 149 * MS)  # hit before 150 ms: nothing yet
    level(sig, book, B, 1000, 205, 149 * MS)
    assert sig.drain() == []
    sig.on_trade(1000, 5, S, 150 * MS)
    level(sig, book, B, 1000, 200, 150 * MS)
    (ev,) = sig.drain()
    assert (ev.kind, ev.side, ev.response) == ("absorption", B, "follow")


def test_a_level_refilled_after_hits_is_an_iceberg():
    sig, book = warm(SignalConfig(iceberg_min_refills=2))
    level(sig, book, S, 1010, 5, MS)
    sig.on_trade(1010, 5, B, 2 * MS)
    level(sig, book, S, 1010, 5, 2 * MS)  # hit for all it showed, back to 5 in the same step: refill 1
    assert sig.drain() == []
    sig.on_trade(1010, 7, B, 3 * MS)  # more than it showed
    level(sig, book, S, 1010, 3, 3 * MS)
    (ev,) = sig.drain()
    assert (ev.kind, ev.side, ev.price, ev.response) == ("iceberg", S, 1010, "follow")


def test_pulls_of_one_touch_price_within_the_window_are_a_cascade():
    sig, book = warm()
    level(sig, book, B, 1000, 50, 0)
    for k, q in enumerate((40, 30)):
        level(sig, book, B, 1000, q, (k + 1) * 50 * MS)
    assert sig.drain() == [], "two pulls: not yet"
    level(sig, book, B, 1000, 20, 150 * MS)
    (ev,) = sig.drain()
    assert (ev.kind, ev.side, ev.value, ev.response) == ("cancel_cascade", B, 3.0, "pull_quotes")


def test_pulls_spread_over_more_than_the_window_or_refilled_are_not_a_cascade():
    sig, book = warm()
    level(sig, book, B, 1000, 50, 0)
    for k, q in enumerate((40, 30, 20)):
        level(sig, book, B, 1000, q, k * 126 * MS)  # 252 ms from first to last: over 250
    assert sig.drain() == []
    level(sig, book, B, 1000, 50, 400 * MS)  # liquidity back at that price
    level(sig, book, B, 1000, 40, 410 * MS)
    level(sig, book, B, 1000, 30, 420 * MS)
    assert sig.drain() == []


def test_trades_explain_decreases_so_hits_are_not_pulls():
    sig, book = warm()
    level(sig, book, B, 1000, 50, 0)
    for k in range(5):
        sig.on_trade(1000, 10, S, (k + 1) * MS)
        level(sig, book, B, 1000, 40 - 10 * k, (k + 1) * MS)
    assert sig.drain() == []


def test_market_maker_inputs():
    sig, book = warm()
    sig.on_trade(1010, 30, B, MS)
    sig.on_trade(1000, 10, S, 2 * MS)
    assert sig.trade_flow_imbalance() == 0.5
    assert sig.microprice() is not None and sig.imbalance(1) == 0.0
    level(sig, book, B, 1004, 10, 3 * MS)
    assert sig.volatility_ticks() > 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("level"), st.sampled_from([B, S]), st.integers(990, 1020), st.integers(0, 500)),
            st.tuples(st.just("trade"), st.sampled_from([B, S]), st.integers(990, 1020), st.integers(1, 300)),
        ),
        max_size=200,
    )
)
def test_detectors_never_raise_on_any_valid_stream(ops):
    book = L2Book("P")
    sig = MarketSignals("P", book, SignalConfig(warmup_adds=3))
    for t, (kind, side, price, qty) in enumerate(ops):
        if kind == "level":
            level(sig, book, side, price, qty, t * MS)
        else:
            sig.on_trade(price, qty, side, t * MS)
    for ev in sig.drain():
        assert ev.market == "P" and ev.kind in ("spoof", "absorption", "iceberg", "cancel_cascade")
    sig.reset()
    sig.volatility_ticks()
    sig.trade_flow_imbalance()


def test_signals_doc_table_is_the_config():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "signals.md").read_text()
    inside = doc.split("<!-- table:begin -->")[1].split("<!-- table:end -->")[0].strip()
    assert inside == table_markdown()
