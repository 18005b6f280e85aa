# The compiled L2 book's C layout, shared with the compiled exchange model and backtest loop.

cdef struct Ladder:
    long long *key  # price x sign (bids: price, asks: -price), ascending: the best level last
    long long *qty
    Py_ssize_t n
    Py_ssize_t cap

cdef long long ladder_get(Ladder *s, long long key) noexcept
cdef long long ladder_set(Ladder *s, long long key, long long qty) except -1

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
