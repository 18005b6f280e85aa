"""The agent's L2 order-book replica.

Prices are int ticks, quantities int lots. Each side is a dict price -> qty holding every
level, plus a sorted list of keys for the best levels only, arranged so the *best* level is
the last element (bids store the price, asks the negated price). Invariant: every level at
or better than the list's first (worst) key is in the list. Updates near the touch insert or
delete near the list's end and move little memory; updates deeper than the list touch only
the dict; when deletions drain the list below LOW it is rebuilt from the dict with
heapq (O(levels)). Best bid/ask is one index. Deltas carry the absolute level quantity;
0 removes the level.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from heapq import nlargest, nsmallest

from agenthft.model.enums import Side

#: The sorted list keeps between LOW and 2 * HOT of the best levels of each side.
HOT = 256
LOW = 32

Level = tuple[int, int]


class SequenceGap(Exception):
    """An update does not follow the last applied one. The book refuses it and stays
    marked out of sync until the caller loads a fresh snapshot."""

    def __init__(self, market: str, expected: int, got: int) -> None:
        super().__init__(f"{market}: sequence gap, expected {expected}, got {got}; resync required")
        self.market = market
        self.expected = expected
        self.got = got


class OutOfSync(Exception):
    """An update arrived while the book is waiting for a snapshot after a gap."""


class L2Book:
    """Aggregated price levels of one market.

    Reads (`best_bid`, `best_ask`, `depth`, `qty_at`) are O(1) or O(n levels asked).
    `set_bid`/`set_ask` apply one level change; `apply` applies a sequenced delta message
    with gap detection. `max_depth` trims each side to that many levels after every
    delta (some venues, e.g. Kraken, compute checksums over a trimmed book).
    """

    __slots__ = ("_ak", "_aq", "_bk", "_bq", "market", "max_depth", "seq", "synced")

    def __init__(self, market: str = "", max_depth: int = 0) -> None:
        self.market = market
        self.max_depth = max_depth
        self._bq: dict[int, int] = {}
        self._bk: list[int] = []  # bid prices ascending: best bid last
        self._aq: dict[int, int] = {}
        self._ak: list[int] = []  # negated ask prices ascending: best ask last
        self.seq = 0
        self.synced = False

    # --- snapshot and deltas -------------------------------------------------------------
    def load_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], seq: int = 0) -> None:
        """Replace the whole book; marks it in sync at `seq`."""
        self._bq = {p: q for p, q in bids if q}
        self._aq = {p: q for p, q in asks if q}
        self._bk = _best_keys(self._bq, 1)
        self._ak = _best_keys(self._aq, -1)
        self.seq = seq
        self.synced = True
        if self.max_depth:
            self.trim(self.max_depth)

    def clear(self) -> None:
        self.load_snapshot((), (), 0)
        self.synced = False

    def set_bid(self, price: int, qty: int) -> None:
        """Set the absolute bid quantity at `price` (0 removes the level)."""
        q = self._bq
        if qty:
            if price not in q:
                k = self._bk
                if not k or price > k[0] or len(k) == len(q):
                    insort(k, price)
                    if len(k) > 2 * HOT:
                        del k[:HOT]
            q[price] = qty
        elif price in q:
            del q[price]
            k = self._bk
            if price >= k[0]:
                if k[-1] == price:
                    k.pop()
                else:
                    del k[bisect_left(k, price)]
                if len(k) < LOW and len(q) > len(k):
                    self._bk = _best_keys(q, 1)

    def set_ask(self, price: int, qty: int) -> None:
        """Set the absolute ask quantity at `price` (0 removes the level)."""
        q = self._aq
        if qty:
            if price not in q:
                k = self._ak
                if not k or -price > k[0] or len(k) == len(q):
                    insort(k, -price)
                    if len(k) > 2 * HOT:
                        del k[:HOT]
            q[price] = qty
        elif price in q:
            del q[price]
            k = self._ak
            if -price >= k[0]:
                if k[-1] == -price:
                    k.pop()
                else:
                    del k[bisect_left(k, -price)]
                if len(k) < LOW and len(q) > len(k):
                    self._ak = _best_keys(q, -1)

    def set_level(self, side: Side, price: int, qty: int) -> None:
        if side is Side.BUY:
            self.set_bid(price, qty)
        else:
            self.set_ask(price, qty)

    def check_seq(self, seq: int, *, first_seq: int | None = None, prev_seq: int | None = None) -> None:
        """Raise SequenceGap (and mark the book out of sync) unless this update follows on.

        The update is contiguous if `prev_seq` (when given) equals the last applied seq, else
        if `first_seq` (when given) is last + 1, else if `seq` is last + 1.
        """
        if not self.synced:
            raise OutOfSync(f"{self.market}: book is waiting for a snapshot")
        if prev_seq is not None:
            expected, got = self.seq, prev_seq
        elif first_seq is not None:
            expected, got = self.seq + 1, first_seq
        else:
            expected, got = self.seq + 1, seq
        if got != expected:
            self.synced = False
            raise SequenceGap(self.market, expected, got)

    def apply(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        seq: int,
        *,
        first_seq: int | None = None,
        prev_seq: int | None = None,
    ) -> None:
        """Apply a sequenced delta after `check_seq`; nothing is applied on a gap."""
        self.check_seq(seq, first_seq=first_seq, prev_seq=prev_seq)
        self.apply_unchecked(bids, asks, seq)

    def apply_unchecked(self, bids: Iterable[Level], asks: Iterable[Level], seq: int) -> None:
        """Apply a delta whose ordering the caller has already established (venue rules)."""
        sb, sa = self.set_bid, self.set_ask
        for p, q in bids:
            sb(p, q)
        for p, q in asks:
            sa(p, q)
        self.seq = seq
        if self.max_depth:
            self.trim(self.max_depth)

    def trim(self, n: int) -> None:
        """Keep only the best `n` levels of each side."""
        self._bk = _trim_side(self._bq, self._bk, 1, n)
        self._ak = _trim_side(self._aq, self._ak, -1, n)

    # --- reads ---------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        k = self._bk
        return k[-1] if k else None

    def best_ask(self) -> int | None:
        k = self._ak
        return -k[-1] if k else None

    def top(self) -> tuple[int, int, int, int] | None:
        """(bid, bid_qty, ask, ask_qty) or None if either side is empty."""
        bk, ak = self._bk, self._ak
        if not bk or not ak:
            return None
        b, a = bk[-1], -ak[-1]
        return b, self._bq[b], a, self._aq[a]

    def bid_qty(self, price: int) -> int:
        return self._bq.get(price, 0)

    def ask_qty(self, price: int) -> int:
        return self._aq.get(price, 0)

    def qty_at(self, side: Side, price: int) -> int:
        return (self._bq if side is Side.BUY else self._aq).get(price, 0)

    def bids(self, n: int | None = None) -> list[Level]:
        """Best-first (price, qty) bid levels, at most `n` (None: all, which sorts the deep book)."""
        q, k = self._bq, self._bk
        if n is None or n > len(k) < len(q):
            k = _sorted_keys(q, 1)
        keys = k if n is None else k[-n:] if n > 0 else []
        return [(p, q[p]) for p in reversed(keys)]

    def asks(self, n: int | None = None) -> list[Level]:
        """Best-first (price, qty) ask levels, at most `n`."""
        q, k = self._aq, self._ak
        if n is None or n > len(k) < len(q):
            k = _sorted_keys(q, -1)
        keys = k if n is None else k[-n:] if n > 0 else []
        return [(-x, q[-x]) for x in reversed(keys)]

    def depth(self, n: int) -> tuple[list[Level], list[Level]]:
        return self.bids(n), self.asks(n)

    @property
    def n_bids(self) -> int:
        return len(self._bq)

    @property
    def n_asks(self) -> int:
        return len(self._aq)

    def spread(self) -> int | None:
        """Ask minus bid in ticks; negative means crossed."""
        bk, ak = self._bk, self._ak
        return -ak[-1] - bk[-1] if bk and ak else None

    def is_crossed(self) -> bool:
        bk, ak = self._bk, self._ak
        return bool(bk and ak and bk[-1] >= -ak[-1])

    def mid(self) -> float | None:
        """Mid price in ticks (x.5 when the spread is odd). A signal value, not a fill price."""
        bk, ak = self._bk, self._ak
        return (bk[-1] - ak[-1]) / 2 if bk and ak else None

    def microprice(self) -> float | None:
        """Size-weighted mid in ticks: leans towards the side with less quantity."""
        t = self.top()
        if t is None:
            return None
        b, bq, a, aq = t
        return (b * aq + a * bq) / (bq + aq)

    def imbalance(self, n: int = 1) -> float | None:
        """(bid qty - ask qty) / (bid qty + ask qty) over the best `n` levels, in [-1, 1]."""
        bq = sum(q for _, q in self.bids(n))
        aq = sum(q for _, q in self.asks(n))
        total = bq + aq
        return (bq - aq) / total if total else None

    def verify(self, checksum: Callable[[L2Book], int], expected: int) -> bool:
        """Run a venue-specific checksum function over this book and compare."""
        return checksum(self) == expected

    def __repr__(self) -> str:
        return f"L2Book({self.market!r}, seq={self.seq}, top={self.top()}, levels={self.n_bids}/{self.n_asks})"


def _sorted_keys(qty: dict[int, int], sign: int) -> list[int]:
    """All keys of one side in list order (ascending key, best last)."""
    return sorted(qty) if sign > 0 else sorted(-p for p in qty)


def _best_keys(qty: dict[int, int], sign: int) -> list[int]:
    """The list part of one side: the best HOT levels (all of them if few)."""
    if len(qty) <= 2 * HOT:
        return _sorted_keys(qty, sign)
    if sign > 0:
        return sorted(nlargest(HOT, qty))
    return sorted(nlargest(HOT, (-p for p in qty)))


def _trim_side(qty: dict[int, int], keys: list[int], sign: int, n: int) -> list[int]:
    """Drop all but the best `n` levels; returns the side's (possibly rebuilt) key list."""
    extra = len(qty) - n
    if extra <= 0:
        return keys
    if extra <= len(qty) - len(keys):  # only levels deeper than the list go
        for p in nsmallest(extra, qty) if sign > 0 else nlargest(extra, qty):
            del qty[p]
        return keys
    for k in _sorted_keys(qty, sign)[:extra]:
        del qty[k * sign]
    return _best_keys(qty, sign)
