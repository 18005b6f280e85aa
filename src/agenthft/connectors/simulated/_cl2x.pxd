# The compiled L2 exchange model's layout, for the compiled backtest loop.

from agenthft.book._cbook cimport CL2Book


cdef class COrder:
    cdef public str order_id
    cdef public object side
    cdef public long long price
    cdef public long long remaining
    cdef public long long ahead
    cdef public int sign


cdef class CL2Exchange:
    cdef public object inst
    cdef public str market
    cdef public CL2Book book
    cdef public object queue
    cdef public object math
    cdef public dict orders
    cdef public long long position
    cdef dict _at
    cdef dict _traded
    cdef long long *_keys  # (price x 2 + is_bid) of the levels holding our orders
    cdef Py_ssize_t _nkeys
    cdef Py_ssize_t _capkeys
    cdef long long _fill_id
    cdef long long _vid
    cdef long long _last_trade
    cdef bint _has_trade
    cdef int level_c(self, int sign, long long price, long long qty) except -1
    cdef int trade_c(self, int aggressor, long long price, long long qty, long long ts_ns, list out) except -1
    cdef int crossed_c(self, long long ts_ns, list out) except -1
    cdef int _add_key(self, long long k) except -1
    cdef void _drop_key(self, long long k) noexcept
    cdef _remove(self, COrder o)
    cdef _fill(self, COrder o, long long price, long long qty, bint maker, long long ts_ns, list out, bint resting=*)
