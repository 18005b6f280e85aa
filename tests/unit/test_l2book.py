import pytest

from agenthft.book import L2Book, OutOfSync, SequenceGap, l2
from agenthft.model import Side


def book() -> L2Book:
    b = L2Book("T")
    b.load_snapshot([(100, 5), (99, 7), (97, 1)], [(101, 3), (102, 4), (105, 9)], seq=10)
    return b


def test_snapshot_gives_best_first_depth_and_top():
    b = book()
    assert b.best_bid() == 100 and b.best_ask() == 101
    assert b.top() == (100, 5, 101, 3)
    assert b.depth(2) == ([(100, 5), (99, 7)], [(101, 3), (102, 4)])
    assert b.bids() == [(100, 5), (99, 7), (97, 1)]
    assert b.spread() == 1 and not b.is_crossed()


def test_absolute_quantity_deltas_set_and_zero_removes():
    b = book()
    b.set_bid(100, 2)
    b.set_bid(98, 4)
    b.set_ask(101, 0)
    b.set_ask(103, 0)  # removing an absent level is a no-op
    assert b.bids(3) == [(100, 2), (99, 7), (98, 4)]
    assert b.asks() == [(102, 4), (105, 9)]
    assert b.qty_at(Side.SELL, 101) == 0 and b.qty_at(Side.BUY, 98) == 4


def test_signals_mid_microprice_imbalance():
    b = book()
    assert b.mid() == 100.5
    assert b.microprice() == pytest.approx((100 * 3 + 101 * 5) / 8)
    assert b.imbalance(1) == pytest.approx((5 - 3) / 8)
    assert b.imbalance(3) == pytest.approx((13 - 16) / 29)
    assert L2Book().mid() is None and L2Book().imbalance() is None


def test_contiguous_update_applies_and_gap_is_refused_until_resync():
    b = book()
    b.apply([(100, 1)], [], seq=11)
    assert b.bid_qty(100) == 1 and b.seq == 11
    with pytest.raises(SequenceGap) as e:
        b.apply([(100, 9)], [], seq=13)
    assert (e.value.expected, e.value.got) == (12, 13)
    assert b.bid_qty(100) == 1, "nothing is applied on a gap"
    with pytest.raises(OutOfSync):
        b.apply([(100, 9)], [], seq=12)
    b.load_snapshot([(100, 9)], [(101, 1)], seq=40)
    b.apply([], [(101, 2)], seq=41)
    assert b.top() == (100, 9, 101, 2)


def test_gap_rules_by_first_seq_and_prev_seq():
    b = book()
    b.apply([], [], seq=15, first_seq=11)  # a batch covering 11..15
    b.apply([], [], seq=20, prev_seq=15)  # futures-style chaining
    with pytest.raises(SequenceGap):
        b.apply([], [], seq=30, prev_seq=19)


def test_crossed_book_is_detected():
    b = book()
    b.set_bid(101, 1)
    assert b.is_crossed() and b.spread() == 0


def test_trim_keeps_best_levels_like_kraken():
    b = L2Book("K", max_depth=2)
    b.load_snapshot([(10, 1), (9, 1), (8, 1)], [(11, 1), (12, 1), (13, 1)])
    assert b.bids() == [(10, 1), (9, 1)] and b.asks() == [(11, 1), (12, 1)]
    b.apply_unchecked([(9, 0), (7, 5)], [(11, 0)], 1)
    assert b.bids() == [(10, 1), (7, 5)] and b.asks() == [(12, 1)]


def test_checksum_hook_runs_venue_function():
    b = book()
    assert b.verify(lambda bk: bk.best_bid() or 0, 100)
    assert not b.verify(lambda bk: bk.best_bid() or 0, 99)


def test_deep_book_drains_and_rebuilds_the_hot_list(monkeypatch):
    monkeypatch.setattr(l2, "HOT", 4)
    monkeypatch.setattr(l2, "LOW", 2)
    b = L2Book()
    b.load_snapshot([(p, 1) for p in range(1, 51)], [(p, 1) for p in range(100, 151)])
    assert len(b._bk) == 4 and b.n_bids == 50
    for p in range(50, 10, -1):  # delete from the top down: forces rebuilds from the dict
        b.set_bid(p, 0)
        assert b.best_bid() == p - 1
    b.set_bid(5, 0)  # a level below the list: dict only
    assert b.bids(3) == [(10, 1), (9, 1), (8, 1)]
    assert [p for p, _ in b.bids()] == [10, 9, 8, 7, 6, 4, 3, 2, 1]
    for p in range(200, 150, -1):  # deep ask inserts stay out of the list
        b.set_ask(p, 2)
    assert b.asks(2) == [(100, 1), (101, 1)] and b.n_asks == 101
