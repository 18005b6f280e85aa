# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled loop of a backtest on recorded data: `DataBacktest.run_python`'s loop, event for
event, with the rows applied in C (the exchange models' books, queue-ahead and fills; the agent's
book replica) and the agent's Python woken only for what it can see change.

The schedule is the Python loop's: one sequence number for every scheduled item, the heap for the
order traffic (Python), and the market-data deliveries in a FIFO here (they are due in the order
they were made: one downlink). A delivery is *shown* (the runner's `on_book` / `on_trade`, as in the
Python loop) when the strategy would see something in it, else *folded*: the agent's book takes
the levels in C and the runner's few per-message fields (last trade, data lag) are written before
Python next runs. When is a delivery shown (docs/backtest.md, "The wake-up rule"):
- the strategy declares no `interest` (or uses signals): every book message, as live;
- else at a book message when the levels it reads changed since it last saw the book, when an
  order event reached it since, when its last wake had a request refused (it may retry), or the
  first time it can see the book;
- always when risk has to look (a stale-data episode may start or end; a position with P&L
  limits on);
- trades: when it overrides `on_trade` (interest: within its levels' band), else folded.
"""

from libc.stdlib cimport calloc, free, realloc

from agenthft.book._cbook cimport CL2Book, Ladder, ladder_fill, ladder_kth
from agenthft.connectors.simulated._cl2x cimport CL2Exchange

from heapq import heappop

import numpy as np

from agenthft.connectors.simulated.latency import Constant
from agenthft.market import events as _ev
from agenthft.model import Side
from agenthft.strategies.base import Strategy

cdef int K_BOOK = 0, K_TRADE = 1
# the row kinds and sides as C values (compared per row: a module global would be a Python lookup
# and a Python comparison each time)
cdef long long LEVEL = _ev.LEVEL, TRADE = _ev.TRADE, CLEAR = _ev.CLEAR, FUNDING = _ev.FUNDING, BID = _ev.BID
cdef long long NONE = 0x7FFFFFFFFFFFFFFF


cdef struct Item:
    long long at
    long long seq
    long long t
    long long bseq
    Py_ssize_t i
    Py_ssize_t j
    int kind
    int market
    bint snapshot


cdef struct Fifo:
    Item *items
    Py_ssize_t head
    Py_ssize_t tail
    Py_ssize_t cap


cdef Item *fifo_push(Fifo *f) except NULL:
    cdef Py_ssize_t n, k
    cdef Item *items
    if f.tail == f.cap:
        n = f.tail - f.head
        if f.head and n < f.cap // 2:  # compact in place
            for k in range(n):
                f.items[k] = f.items[f.head + k]
        else:
            f.cap = f.cap * 2 if f.cap else 256
            items = <Item *> realloc(f.items, f.cap * sizeof(Item))
            if items == NULL:
                raise MemoryError()
            f.items = items
            for k in range(n):
                f.items[k] = f.items[f.head + k]
        f.head, f.tail = 0, n
    f.tail += 1
    return &f.items[f.tail - 1]


cdef class View:
    """The levels a strategy reads (top `depth` per side) as it last saw them."""

    cdef long long[:, ::1] seen  # [side][2 x depth]: prices, then quantities, best first
    cdef long long[:, ::1] now
    cdef Py_ssize_t[2] n
    cdef Py_ssize_t depth
    cdef bint sizes
    cdef bint ever

    def __init__(self, int depth, bint sizes):
        self.depth, self.sizes, self.ever = max(depth, 1), sizes, False
        self.seen = np.zeros((2, 2 * self.depth), dtype=np.int64)
        self.now = np.zeros((2, 2 * self.depth), dtype=np.int64)
        self.n[0] = self.n[1] = 0

    cdef bint changed(self, CL2Book book) noexcept:
        cdef int s
        cdef Py_ssize_t k, m, d = self.depth
        if not self.ever:
            return True
        for s in range(2):
            m = ladder_fill(&book.b if s == 0 else &book.a, d, &self.now[s, 0], &self.now[s, d])
            if m != self.n[s]:
                return True
            for k in range(m):
                if self.now[s, k] != self.seen[s, k]:
                    return True
                if self.sizes and self.now[s, d + k] != self.seen[s, d + k]:
                    return True
        return False

    cdef void remember(self, CL2Book book) noexcept:
        cdef int s
        cdef Py_ssize_t d = self.depth
        self.ever = True
        for s in range(2):
            self.n[s] = ladder_fill(&book.b if s == 0 else &book.a, d, &self.seen[s, 0], &self.seen[s, d])

    cdef bint in_band(self, CL2Book book, long long price) noexcept:
        """`price` lies between the `depth`-th best bid and ask (both sides present)."""
        if not book.b.n or not book.a.n:
            return True
        return ladder_kth(&book.b, self.depth - 1) <= price <= -ladder_kth(&book.a, self.depth - 1)


def overrides(strategy, str hook):
    return getattr(type(strategy), hook) is not getattr(Strategy, hook)


cdef class Loop:
    """One run of a `DataBacktest` (the compiled path); `run()` returns the rows processed."""

    cdef object bt, runner, risk, rec, heap, up, down, latency, strategy
    cdef int src  # where the earliest Python-scheduled item is: 0 none, 1 heap, 2 uplink, 3 downlink
    cdef const long long[::1] ts, mk, kind, side, price, qty, flags
    cdef Py_ssize_t n
    cdef list xs, books, names, views, last_trade, lag
    cdef Fifo fifo
    cdef long long seq, last_down, now, feed_c, rec_next, th, sh, skipped
    cdef bint feed_const, have_sched, interest, trades_all, trades_band, pnl_limits, refused, folded
    cdef long long stale_ns, seen_events, views_count, refusals, order_events
    cdef bint started
    cdef long long *book_seq  # per market: the sequence number of its next book delivery
    cdef list stale, pos

    def __init__(self, bt):
        self.bt = bt
        self.runner = bt.runner
        self.risk = bt.runner.risk
        self.rec = bt.recorder
        self.heap, self.up, self.down = bt._heap, bt._up, bt._down
        self.latency = bt.latency
        self.strategy = bt.runner.strategy
        a = bt.events.int64_columns()
        self.ts, self.mk, self.kind, self.side = a["ts_local"], a["market"], a["kind"], a["side"]
        self.price, self.qty, self.flags = a["price"], a["qty"], a["flags"]
        self.n = len(a["kind"])
        self.xs = list(bt.exchanges)
        self.names = [i.market for i in bt.instruments]
        self.books = [self.runner.books.get(name) for name in self.names]
        self.feed_const = type(self.latency) is Constant
        self.feed_c = self.latency.f if self.feed_const else 0
        runner, strategy = self.runner, self.strategy
        interest = getattr(strategy, "interest", None)
        plain = strategy.uses_signals or bool(runner._carried)
        self.interest = interest is not None and not plain
        self.views = [View(interest.depth, interest.sizes) if self.interest else None for _ in self.names]
        hooks_trades = overrides(strategy, "on_trade") or plain
        self.trades_all = hooks_trades and not self.interest
        self.trades_band = hooks_trades and self.interest and interest.trades
        risk = self.risk
        self.pnl_limits = bool(risk._daily or risk._pnl_kill or risk._reduce_at)
        self.stale_ns = risk._stale_ns
        self.last_trade = [None] * len(self.names)
        self.lag = [None] * len(self.names)
        self.book_seq = <long long *> calloc(max(1, len(self.names)), sizeof(long long))
        if self.book_seq == NULL:
            raise MemoryError()
        self.stale = [False] * len(self.names)
        self.pos = [False] * len(self.names)

    def __dealloc__(self):
        free(self.fifo.items)
        free(self.book_seq)

    # --- Python runs: what it reads is written first, what it changed is read after ------------
    cdef void before_python(self):
        cdef Py_ssize_t m
        bt, runner = self.bt, self.runner
        if self.folded:
            for m in range(len(self.names)):
                if self.last_trade[m] is not None:
                    runner.last_trade[self.names[m]] = self.last_trade[m]
                    self.last_trade[m] = None
                if self.lag[m] is not None:
                    self.risk.data_lag_ns[self.names[m]] = self.lag[m]
                    self.lag[m] = None
            runner.now_ns = self.now
            self.folded = False
        bt.deliveries += self.skipped
        self.skipped = 0
        bt._seq, bt._last_down, bt.now = self.seq, self.last_down, self.now
        self.refusals = self.runner.refused

    cdef void after_python(self, bint answers=False):
        """`answers`: order events reached the agent (the only thing that moves its positions)."""
        cdef Py_ssize_t m
        bt = self.bt
        self.seq, self.last_down = bt._seq, bt._last_down
        self.order_events, self.started = bt.order_events, self.runner.started  # read per book message in C
        if self.runner.refused != self.refusals:  # a request refused: the strategy may retry at its next look
            self.refused = True
        self.top()
        if self.stale_ns:
            stale = self.risk.stale
            for m in range(len(self.names)):
                self.stale[m] = self.names[m] in stale
        if self.pnl_limits and answers:
            positions = self.runner.oms.positions
            for m in range(len(self.names)):
                p = positions.get(self.names[m])
                self.pos[m] = p is not None and p.size != 0

    cdef void top(self):
        """The earliest of what Python scheduled (the heap, the uplink, the downlink), by (time,
        sequence), into th/sh/src: only Python code adds to them, so it is read after Python ran."""
        self.src = 0
        if self.heap:
            self.consider(self.heap[0], 1)
        if self.up:
            self.consider(self.up[0], 2)
        if self.down:
            self.consider(self.down[0], 3)
        self.have_sched = self.src != 0

    cdef inline void consider(self, tuple head, int src):
        cdef long long at = head[0], sq = head[1]
        if self.src == 0 or at < self.th or (at == self.th and sq < self.sh):
            self.src, self.th, self.sh = src, at, sq

    cdef long long feed(self) except? -1:
        return self.feed_c if self.feed_const else self.latency.feed_ns()

    # --- deliveries ------------------------------------------------------------------------
    cdef int deliver(self, Item *it) except -1:
        if it.kind == K_TRADE:
            return self.deliver_trade(it)
        return self.deliver_book(it)

    cdef int deliver_trade(self, Item *it) except -1:
        cdef Py_ssize_t r = it.i
        cdef int m = it.market
        cdef CL2Book book
        cdef bint show = self.trades_all
        if self.trades_band:
            book = self.books[m]
            show = book is None or (<View> self.views[m]).in_band(book, self.price[r])
        if not show:
            self.last_trade[m] = self.price[r]
            self.folded = True
            self.skipped += 1
            return 0
        self.before_python()
        self.bt._see_trade(self.names[m], self.price[r], self.qty[r], Side.SELL if self.side[r] == -BID else Side.BUY,
                           it.t, it.at)
        self.after_python()
        return 0

    cdef int deliver_book(self, Item *it) except -1:
        cdef int m = it.market
        cdef CL2Book book = self.books[m]
        cdef View view
        cdef bint show
        cdef long long lag = it.at - it.t
        if book is None:  # a market the strategy does not trade: the runner keeps no book of it
            self.folded = True
            self.skipped += 1
            return 0
        show = not self.interest
        if not show and self.stale_ns and (self.stale[m] or 2 * lag >= self.stale_ns):
            show = True  # a stale-data episode may start or end: risk acts on it
        if not show and self.pnl_limits and self.pos[m]:
            show = True  # the P&L check after the book changes the mark
        if not show:
            if it.snapshot:
                book.reset()
                self.apply_rows(book, it.i, it.j, True)
                book.synced = True
            elif book.synced:
                self.apply_rows(book, it.i, it.j, False)
            else:  # waiting for a snapshot: the runner drops it (OutOfSync)
                self.fold_book(m, lag)
                return 0
            view = self.views[m]
            if (self.started and (view.changed(book) or self.refused
                    or self.order_events != self.seen_events)):
                if not it.snapshot:  # the rows are on its book: the runner checks the sequence, applies none
                    book.seq = it.bseq - 1
                    return self.show_book(it, book, True)
            else:
                book.seq = it.bseq
                self.fold_book(m, lag)
                return 0
        return self.show_book(it, book, False)

    cdef void fold_book(self, int m, long long lag):
        self.lag[m] = lag
        self.folded = True
        self.skipped += 1

    cdef int apply_rows(self, CL2Book book, Py_ssize_t i, Py_ssize_t j, bint snapshot) except -1:
        cdef Py_ssize_t r
        for r in range(i, j):
            if self.kind[r] == LEVEL and (self.qty[r] or not snapshot):
                book.set_level_c(1 if self.side[r] == BID else -1, self.price[r], self.qty[r])
        return 0

    cdef int show_book(self, Item *it, CL2Book book, bint applied) except -1:
        """The runner's `on_book` with the message's levels, or none when they are `applied` to its
        book already (a strategy with an `interest` reads the book, not the message)."""
        cdef Py_ssize_t r
        bids, asks = [], []
        if not applied:
            for r in range(it.i, it.j):
                if self.kind[r] == LEVEL:
                    (bids if self.side[r] == BID else asks).append((self.price[r], self.qty[r]))
        runner = self.runner
        views, refused = runner.book_views, runner.refused
        self.before_python()
        self.bt._see_book(self.names[it.market], bids, asks, it.bseq, it.t, it.at, it.snapshot)
        self.after_python()
        if runner.book_views != views and self.interest:
            (<View> self.views[it.market]).remember(book)
            self.seen_events = self.order_events
            self.refused = runner.refused != refused
        return 0

    # --- the loop ----------------------------------------------------------------------------
    def run(self, progress=None):
        cdef Py_ssize_t i = 0, j, n = self.n
        cdef long long start = self.bt.start_ns, end = self.bt.end_ns, t_rec, t, span, next_report, rows = 0
        cdef long long k
        cdef int m, sign
        cdef bint has_rec, snapshot, levels, fifo_first
        cdef CL2Exchange x
        cdef Item *it
        cdef Fifo *f = &self.fifo
        bt, runner, rec = self.bt, self.runner, self.rec
        self.seq, self.last_down, self.now = bt._seq, bt._last_down, bt.now
        self.after_python(True)
        self.rec_next = rec._next
        while i < n and self.ts[i] < start:
            i += 1
        span = max(1, end - start)
        next_report = start
        out = []
        while True:
            has_rec = i < n and self.ts[i] <= end
            t_rec = self.ts[i] if has_rec else NONE
            # the earliest scheduled item: the heap's or the feed's, by (time, sequence)
            if f.head < f.tail:
                it = &f.items[f.head]
                fifo_first = not self.have_sched or it.at < self.th or (it.at == self.th and it.seq < self.sh)
                t = it.at if fifo_first else self.th
            elif self.have_sched:
                fifo_first = False
                t = self.th
            else:
                t = NONE
            if t != NONE and (not has_rec or t < t_rec):
                if t > end and not has_rec:
                    break
                self.now = t
                if fifo_first:
                    f.head += 1
                    self.deliver(it)
                else:
                    self.before_python()
                    if self.src == 3:  # an answer reaches the agent
                        bt._deliver(self.down.popleft()[2], t)
                        self.after_python(True)
                    elif self.src == 2:  # a request reaches the exchange
                        bt._arrive(self.up.popleft()[2], t)
                        self.after_python()
                    else:
                        heappop(self.heap)[2](t)
                        self.after_python(True)  # (a scheduled funding payment)
                if t >= self.rec_next:
                    self.before_python()
                    rec.tick(runner, t)
                    self.after_python()
                    self.rec_next = rec._next
                continue
            if not has_rec:
                break
            # one recorded message: applied whole at the exchange, then seen by the agent
            self.now = t_rec
            m = <int> self.mk[i]
            x = self.xs[m]
            j = i
            snapshot = levels = False
            while True:
                k = self.kind[j]
                if k == LEVEL:
                    x.level_c(<int> self.side[j], self.price[j], self.qty[j])
                    levels = True
                elif k == TRADE:
                    x.trade_c(<int> self.side[j], self.price[j], self.qty[j], t_rec, out)
                elif k == CLEAR:
                    x.book.clear()
                    snapshot = True
                elif k == FUNDING:
                    self.before_python()
                    bt.funding_events += 1
                    x.funding(self.qty[j], self.price[j], t_rec, out)
                    self.after_python()
                j += 1
                if self.flags[j - 1] & 1 or j >= n:
                    break
            rows += j - i
            if x.orders:
                x.crossed_c(t_rec, out)
            if self.kind[i] != FUNDING:
                for k in range(i, j):
                    if self.kind[k] == TRADE:
                        self.last_down = max(self.last_down, t_rec + self.feed())
                        self.seq += 1
                        it = fifo_push(f)
                        it.at, it.seq, it.t, it.kind, it.market, it.i = self.last_down, self.seq, t_rec, K_TRADE, m, k
                if levels or snapshot:
                    if snapshot:
                        self.book_seq[m] = 1
                    else:
                        self.book_seq[m] += 1
                    self.last_down = max(self.last_down, t_rec + self.feed())
                    self.seq += 1
                    it = fifo_push(f)
                    it.at, it.seq, it.t, it.kind, it.market = self.last_down, self.seq, t_rec, K_BOOK, m
                    it.i, it.j, it.snapshot, it.bseq = i, j, snapshot, self.book_seq[m]
            if out:  # after the message's market data, as the Python loop
                self.before_python()
                bt._respond(out, t_rec)
                self.after_python()
                out = []
            i = j
            if progress is not None and t_rec >= next_report:
                self.before_python()
                progress(t_rec - start, span)
                self.after_python()
                next_report = t_rec + span // 100
        self.now = max(self.now, end)
        self.before_python()
        return rows
