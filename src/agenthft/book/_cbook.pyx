# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The L2 book in C: each side one sorted array of (price, qty), the best level last.

Same interface and same answers as `book.l2.L2Book` (the reference, tested against it); built
when a C compiler is there (`agenthft.book.fast`). Near-touch changes move few elements; reads
of the best level are one index. Values that are floats in L2Book (mid, microprice, imbalance)
are computed on Python ints here too, so they are the same floats.
"""

from libc.stdlib cimport free, realloc
from libc.string cimport memmove

from agenthft.book.l2 import OutOfSync, SequenceGap
from agenthft.model.enums import Side

_BUY = Side.BUY


cdef Py_ssize_t ladder_find(Ladder *s, long long key) noexcept:
    """Index of the first element >= key (s.n if none)."""
    cdef Py_ssize_t lo = 0, hi = s.n, mid
    cdef long long *k = s.key
    if hi and k[hi - 1] < key:
        return hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if k[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int ladder_grow(Ladder *s) except -1:
    cdef Py_ssize_t cap = s.cap * 2 if s.cap else 64
    cdef long long *k = <long long *> realloc(s.key, cap * sizeof(long long))
    if k == NULL:
        raise MemoryError()
    s.key = k
    cdef long long *q = <long long *> realloc(s.qty, cap * sizeof(long long))
    if q == NULL:
        raise MemoryError()
    s.qty = q
    s.cap = cap
    return 0


cdef long long ladder_get(Ladder *s, long long key) noexcept:
    cdef Py_ssize_t i = ladder_find(s, key)
    if i < s.n and s.key[i] == key:
        return s.qty[i]
    return 0


cdef long long ladder_set(Ladder *s, long long key, long long qty) except -1:
    """Set the quantity at `key` (0 removes the level); returns the quantity it had."""
    cdef Py_ssize_t i = ladder_find(s, key)
    cdef long long prev
    if i < s.n and s.key[i] == key:
        prev = s.qty[i]
        if qty:
            s.qty[i] = qty
        else:
            memmove(&s.key[i], &s.key[i + 1], (s.n - i - 1) * sizeof(long long))
            memmove(&s.qty[i], &s.qty[i + 1], (s.n - i - 1) * sizeof(long long))
            s.n -= 1
        return prev
    if qty:
        if s.n == s.cap:
            ladder_grow(s)
        memmove(&s.key[i + 1], &s.key[i], (s.n - i) * sizeof(long long))
        memmove(&s.qty[i + 1], &s.qty[i], (s.n - i) * sizeof(long long))
        s.key[i] = key
        s.qty[i] = qty
        s.n += 1
    return 0


cdef void ladder_trim(Ladder *s, Py_ssize_t n) noexcept:
    """Keep the best n levels."""
    cdef Py_ssize_t extra = s.n - n
    if extra > 0:
        memmove(s.key, &s.key[extra], n * sizeof(long long))
        memmove(s.qty, &s.qty[extra], n * sizeof(long long))
        s.n = n


cdef list ladder_levels(Ladder *s, object n, long long sign):
    """Best-first (price, qty), at most n (None: all)."""
    cdef Py_ssize_t m = s.n if n is None else max(0, min(<Py_ssize_t> n, s.n))
    cdef Py_ssize_t i
    return [(s.key[i] * sign, s.qty[i]) for i in range(s.n - 1, s.n - 1 - m, -1)]


cdef class CL2Book:
    """Aggregated price levels of one market (the interface of `L2Book`)."""

    def __cinit__(self, str market="", int max_depth=0):
        self.market = market
        self.max_depth = max_depth
        self.seq = 0
        self.synced = False

    def __dealloc__(self):
        free(self.b.key)
        free(self.b.qty)
        free(self.a.key)
        free(self.a.qty)

    cdef void reset(self) noexcept:
        self.b.n = 0
        self.a.n = 0

    cdef long long set_level_c(self, int sign, long long price, long long qty) except -1:
        if sign > 0:
            return ladder_set(&self.b, price, qty)
        return ladder_set(&self.a, -price, qty)

    cdef long long qty_c(self, int sign, long long price) noexcept:
        if sign > 0:
            return ladder_get(&self.b, price)
        return ladder_get(&self.a, -price)

    cdef void trim_c(self, Py_ssize_t n) noexcept:
        ladder_trim(&self.b, n)
        ladder_trim(&self.a, n)

    # --- snapshot and deltas ---------------------------------------------------------------
    def load_snapshot(self, bids, asks, long long seq=0):
        self.reset()
        for p, q in bids:
            if q:
                ladder_set(&self.b, p, q)
        for p, q in asks:
            if q:
                ladder_set(&self.a, -p, q)
        self.seq = seq
        self.synced = True
        if self.max_depth:
            self.trim_c(self.max_depth)

    def clear(self):
        self.load_snapshot((), (), 0)
        self.synced = False

    def set_bid(self, long long price, long long qty):
        ladder_set(&self.b, price, qty)

    def set_ask(self, long long price, long long qty):
        ladder_set(&self.a, -price, qty)

    def set_level(self, side, long long price, long long qty):
        if side is _BUY:
            ladder_set(&self.b, price, qty)
        else:
            ladder_set(&self.a, -price, qty)

    def check_seq(self, seq, *, first_seq=None, prev_seq=None):
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

    def apply(self, bids, asks, seq, *, first_seq=None, prev_seq=None):
        self.check_seq(seq, first_seq=first_seq, prev_seq=prev_seq)
        self.apply_unchecked(bids, asks, seq)

    def apply_unchecked(self, bids, asks, long long seq):
        for p, q in bids:
            ladder_set(&self.b, p, q)
        for p, q in asks:
            ladder_set(&self.a, -p, q)
        self.seq = seq
        if self.max_depth:
            self.trim_c(self.max_depth)

    def trim(self, Py_ssize_t n):
        self.trim_c(n)

    # --- reads -----------------------------------------------------------------------------
    def best_bid(self):
        return self.b.key[self.b.n - 1] if self.b.n else None

    def best_ask(self):
        return -self.a.key[self.a.n - 1] if self.a.n else None

    def top(self):
        if not self.b.n or not self.a.n:
            return None
        return (self.b.key[self.b.n - 1], self.b.qty[self.b.n - 1], -self.a.key[self.a.n - 1], self.a.qty[self.a.n - 1])

    def bid_qty(self, long long price):
        return ladder_get(&self.b, price)

    def ask_qty(self, long long price):
        return ladder_get(&self.a, -price)

    def qty_at(self, side, long long price):
        return ladder_get(&self.b, price) if side is _BUY else ladder_get(&self.a, -price)

    def bids(self, n=None):
        return ladder_levels(&self.b, n, 1)

    def asks(self, n=None):
        return ladder_levels(&self.a, n, -1)

    def depth(self, n):
        return self.bids(n), self.asks(n)

    @property
    def n_bids(self):
        return self.b.n

    @property
    def n_asks(self):
        return self.a.n

    def spread(self):
        if not self.b.n or not self.a.n:
            return None
        return -self.a.key[self.a.n - 1] - self.b.key[self.b.n - 1]

    def is_crossed(self):
        return bool(self.b.n and self.a.n and self.b.key[self.b.n - 1] >= -self.a.key[self.a.n - 1])

    def mid(self):
        if not self.b.n or not self.a.n:
            return None
        b: object = self.b.key[self.b.n - 1]
        a: object = -self.a.key[self.a.n - 1]
        return (b + a) / 2

    def microprice(self):
        t = self.top()
        if t is None:
            return None
        b, bq, a, aq = t
        return (b * aq + a * bq) / (bq + aq)

    def imbalance(self, int n=1):
        bq = sum(q for _, q in self.bids(n))
        aq = sum(q for _, q in self.asks(n))
        total = bq + aq
        return (bq - aq) / total if total else None

    def verify(self, checksum, expected):
        return checksum(self) == expected

    def __repr__(self):
        return f"L2Book({self.market!r}, seq={self.seq}, top={self.top()}, levels={self.n_bids}/{self.n_asks})"
