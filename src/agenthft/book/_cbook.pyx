# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The L2 book in C: each side a sorted list of blocks of (price, qty), the best level last.

Same interface and same answers as `book.l2.L2Book` (the reference, tested against it); built
when a C compiler is there (`agenthft.book.fast`). Near-touch changes move few elements; reads
of the best level are one index. Values that are floats in L2Book (mid, microprice, imbalance)
are computed on Python ints here too, so they are the same floats.
"""

from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from agenthft.book.l2 import OutOfSync, SequenceGap
from agenthft.model.enums import Side

_BUY = Side.BUY


cdef inline Py_ssize_t lower_bound(const long long *a, Py_ssize_t n, long long key) noexcept:
    """Index of the first element >= key in a[0:n] (n if none), by halving without a branch on
    the comparison: which way a price ladder's search goes is unpredictable, and a mispredicted
    branch costs more than the step (the halving compiles to a conditional move)."""
    cdef Py_ssize_t base = 0, half
    if n == 0:
        return 0
    while n > 1:
        half = n >> 1
        base = base + half if a[base + half] < key else base
        n -= half
    return base + (a[base] < key)


cdef Py_ssize_t block_for(Ladder *s, long long key) noexcept:
    """The first block whose largest key is >= key (the last block when key is above all)."""
    if s.maxk[s.nb - 1] < key:
        return s.nb - 1
    return lower_bound(s.maxk, s.nb, key)


cdef inline Py_ssize_t find_in(Block *b, long long key) noexcept:
    """Index of the first element >= key in the block (b.n if none)."""
    return lower_bound(b.key, b.n, key)


cdef int insert_block(Ladder *s, Py_ssize_t at) except -1:
    """A new empty block at index `at`."""
    cdef Block *nb = <Block *> malloc(sizeof(Block))
    cdef Block **blk
    cdef long long *maxk
    if nb == NULL:
        raise MemoryError()
    nb.n = 0
    if s.nb == s.cap:
        s.cap = s.cap * 2 if s.cap else 16
        blk = <Block **> realloc(s.blk, s.cap * sizeof(Block *))
        maxk = <long long *> realloc(s.maxk, s.cap * sizeof(long long))
        if blk == NULL or maxk == NULL:
            raise MemoryError()
        s.blk, s.maxk = blk, maxk
    memmove(&s.blk[at + 1], &s.blk[at], (s.nb - at) * sizeof(Block *))
    memmove(&s.maxk[at + 1], &s.maxk[at], (s.nb - at) * sizeof(long long))
    s.blk[at] = nb
    s.nb += 1
    return 0


cdef void remove_block(Ladder *s, Py_ssize_t at) noexcept:
    free(s.blk[at])
    memmove(&s.blk[at], &s.blk[at + 1], (s.nb - at - 1) * sizeof(Block *))
    memmove(&s.maxk[at], &s.maxk[at + 1], (s.nb - at - 1) * sizeof(long long))
    s.nb -= 1


cdef long long ladder_get(Ladder *s, long long key) noexcept:
    cdef Py_ssize_t bi, i
    cdef Block *b
    if not s.nb:
        return 0
    bi = block_for(s, key)
    b = s.blk[bi]
    i = find_in(b, key)
    if i < b.n and b.key[i] == key:
        return b.qty[i]
    return 0


cdef long long ladder_set(Ladder *s, long long key, long long qty) except -1:
    """Set the quantity at `key` (0 removes the level); returns the quantity it had."""
    cdef Py_ssize_t bi, i, half
    cdef Block *b
    cdef Block *c
    cdef long long prev
    if not s.nb:
        if not qty:
            return 0
        insert_block(s, 0)
    bi = block_for(s, key)
    b = s.blk[bi]
    i = find_in(b, key)
    if i < b.n and b.key[i] == key:
        prev = b.qty[i]
        if qty:
            b.qty[i] = qty
            return prev
        memmove(&b.key[i], &b.key[i + 1], (b.n - i - 1) * sizeof(long long))
        memmove(&b.qty[i], &b.qty[i + 1], (b.n - i - 1) * sizeof(long long))
        b.n -= 1
        s.n -= 1
        if not b.n:
            remove_block(s, bi)
        else:
            s.maxk[bi] = b.key[b.n - 1]
        return prev
    if not qty:
        return 0
    if b.n == BLOCK:  # split: the upper half goes to a new block after it
        insert_block(s, bi + 1)
        c = s.blk[bi + 1]
        half = BLOCK // 2
        memcpy(c.key, &b.key[half], (BLOCK - half) * sizeof(long long))
        memcpy(c.qty, &b.qty[half], (BLOCK - half) * sizeof(long long))
        c.n = BLOCK - half
        b.n = half
        s.maxk[bi] = b.key[half - 1]
        s.maxk[bi + 1] = c.key[c.n - 1]
        if i > half or (i == half and key > b.key[half - 1]):
            bi, b, i = bi + 1, c, i - half
    memmove(&b.key[i + 1], &b.key[i], (b.n - i) * sizeof(long long))
    memmove(&b.qty[i + 1], &b.qty[i], (b.n - i) * sizeof(long long))
    b.key[i] = key
    b.qty[i] = qty
    b.n += 1
    s.n += 1
    if i == b.n - 1:
        s.maxk[bi] = key
    return 0


cdef long long ladder_best(Ladder *s) noexcept:
    """The best key (the caller checks s.n)."""
    cdef Block *b = s.blk[s.nb - 1]
    return b.key[b.n - 1]


cdef long long ladder_kth(Ladder *s, Py_ssize_t k) noexcept:
    """The key of the k-th best level (0: the best; the worst when there are fewer)."""
    cdef Py_ssize_t bi = s.nb - 1
    cdef Block *b
    while bi >= 0:
        b = s.blk[bi]
        if k < b.n:
            return b.key[b.n - 1 - k]
        k -= b.n
        bi -= 1
    b = s.blk[0]
    return b.key[0]


cdef Py_ssize_t ladder_fill(Ladder *s, Py_ssize_t m, long long *keys, long long *qtys) noexcept:
    """The best `m` levels into keys/qtys, best first; returns how many."""
    cdef Py_ssize_t bi = s.nb - 1, i, got = 0
    cdef Block *b
    while bi >= 0 and got < m:
        b = s.blk[bi]
        i = b.n - 1
        while i >= 0 and got < m:
            keys[got] = b.key[i]
            qtys[got] = b.qty[i]
            got += 1
            i -= 1
        bi -= 1
    return got


cdef void ladder_clear(Ladder *s) noexcept:
    cdef Py_ssize_t i
    for i in range(s.nb):
        free(s.blk[i])
    s.nb = 0
    s.n = 0


cdef void ladder_free(Ladder *s) noexcept:
    ladder_clear(s)
    free(s.blk)
    free(s.maxk)


cdef void ladder_trim(Ladder *s, Py_ssize_t n) noexcept:
    """Keep the best n levels: whole blocks go from the worst end, then the rest of one."""
    cdef Py_ssize_t extra = s.n - n
    cdef Block *b
    while extra > 0 and s.nb and s.blk[0].n <= extra:
        extra -= s.blk[0].n
        s.n -= s.blk[0].n
        remove_block(s, 0)
    if extra > 0 and s.nb:
        b = s.blk[0]
        memmove(b.key, &b.key[extra], (b.n - extra) * sizeof(long long))
        memmove(b.qty, &b.qty[extra], (b.n - extra) * sizeof(long long))
        b.n -= extra
        s.n -= extra


cdef list ladder_levels(Ladder *s, object n, long long sign):
    """Best-first (price, qty), at most n (None: all)."""
    cdef Py_ssize_t m = s.n if n is None else max(0, min(<Py_ssize_t> n, s.n))
    cdef Py_ssize_t bi = s.nb - 1, i
    cdef Block *b
    out = []
    while bi >= 0 and len(out) < m:
        b = s.blk[bi]
        i = b.n - 1
        while i >= 0 and len(out) < m:
            out.append((b.key[i] * sign, b.qty[i]))
            i -= 1
        bi -= 1
    return out


cdef class CL2Book:
    """Aggregated price levels of one market (the interface of `L2Book`)."""

    def __cinit__(self, str market="", int max_depth=0):
        self.market = market
        self.max_depth = max_depth
        self.seq = 0
        self.synced = False

    def __dealloc__(self):
        ladder_free(&self.b)
        ladder_free(&self.a)

    cdef void reset(self) noexcept:
        ladder_clear(&self.b)
        ladder_clear(&self.a)

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
        return ladder_best(&self.b) if self.b.n else None

    def best_ask(self):
        return -ladder_best(&self.a) if self.a.n else None

    def top(self):
        cdef long long bk, bq, ak, aq
        if not self.b.n or not self.a.n:
            return None
        ladder_fill(&self.b, 1, &bk, &bq)
        ladder_fill(&self.a, 1, &ak, &aq)
        return (bk, bq, -ak, aq)

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
        return -ladder_best(&self.a) - ladder_best(&self.b)

    def is_crossed(self):
        return bool(self.b.n and self.a.n and ladder_best(&self.b) >= -ladder_best(&self.a))

    def mid(self):
        if not self.b.n or not self.a.n:
            return None
        b: object = ladder_best(&self.b)
        a: object = -ladder_best(&self.a)
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
