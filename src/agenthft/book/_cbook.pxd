# The compiled L2 book's C layout, shared with the compiled exchange model and backtest loop.

cdef enum:
    BLOCK = 64  # levels per block: an insert or delete moves at most this many

cdef struct Block:
    long long key[BLOCK]  # price x sign (bids: price, asks: -price), ascending: the best last
    long long qty[BLOCK]
    Py_ssize_t n

cdef struct Ladder:
    Block **blk  # blocks in key order: the best level is the last block's last
    long long *maxk  # each block's largest key (binary search over blocks)
    Py_ssize_t nb
    Py_ssize_t cap
    Py_ssize_t n  # levels in all

cdef long long ladder_get(Ladder *s, long long key) noexcept
cdef long long ladder_set(Ladder *s, long long key, long long qty) except -1
cdef long long ladder_best(Ladder *s) noexcept
cdef Py_ssize_t ladder_fill(Ladder *s, Py_ssize_t m, long long *keys, long long *qtys) noexcept
cdef long long ladder_kth(Ladder *s, Py_ssize_t k) noexcept

cdef class CL2Book:
    cdef Ladder b
    cdef Ladder a
    cdef public str market
    cdef public int max_depth
    cdef public long long seq
    cdef public bint synced
    cdef void reset(self) noexcept
    cdef long long set_level_c(self, int sign, long long price, long long qty) except -1
    cdef long long qty_c(self, int sign, long long price) noexcept
    cdef void trim_c(self, Py_ssize_t n) noexcept
