"""The fast book against a plain dict reference (the oracle) on random delta streams."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.book import L2Book, l2

deltas = st.lists(
    st.tuples(st.booleans(), st.integers(0, 400), st.sampled_from([0, 0, 1, 2, 5, 100])),
    max_size=600,
)


def check_against_reference(stream) -> None:
    book = L2Book()
    ref: dict[bool, dict[int, int]] = {True: {}, False: {}}
    for is_bid, price, qty in stream:
        # keep the reference uncrossed, as a venue's book is: bids below 200, asks at or above
        p = price % 200 if is_bid else 200 + price % 200
        (book.set_bid if is_bid else book.set_ask)(p, qty)
        if qty:
            ref[is_bid][p] = qty
        else:
            ref[is_bid].pop(p, None)
        bids, asks = ref[True], ref[False]
        assert book.best_bid() == (max(bids) if bids else None)
        assert book.best_ask() == (min(asks) if asks else None)
    assert book.bids() == sorted(ref[True].items(), reverse=True)
    assert book.asks() == sorted(ref[False].items())
    assert book.bids(7) == sorted(ref[True].items(), reverse=True)[:7]
    assert book.asks(7) == sorted(ref[False].items())[:7]
    assert not book.is_crossed()


@settings(max_examples=300, deadline=None)
@given(deltas)
def test_book_matches_dict_reference(stream):
    check_against_reference(stream)


@settings(max_examples=300, deadline=None)
@given(deltas)
def test_book_matches_reference_with_tiny_hot_list(stream):
    # Small HOT/LOW force the list trims and rebuilds that deep real books exercise.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(l2, "HOT", 3)
        mp.setattr(l2, "LOW", 2)
        check_against_reference(stream)


@settings(max_examples=100, deadline=None)
@given(deltas, st.integers(1, 30))
def test_trim_matches_reference(stream, depth):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(l2, "HOT", 4)
        mp.setattr(l2, "LOW", 2)
        book = L2Book(max_depth=depth)
        ref: dict[bool, dict[int, int]] = {True: {}, False: {}}
        for is_bid, price, qty in stream:
            p = price % 200 if is_bid else 200 + price % 200
            side = [(p, qty)]
            book.apply_unchecked(side if is_bid else [], [] if is_bid else side, book.seq + 1)
            if qty:
                ref[is_bid][p] = qty
            else:
                ref[is_bid].pop(p, None)
            ref[True] = dict(sorted(ref[True].items(), reverse=True)[:depth])
            ref[False] = dict(sorted(ref[False].items())[:depth])
            assert book.bids() == sorted(ref[True].items(), reverse=True)
            assert book.asks() == sorted(ref[False].items())
