"""Backtest on recorded data: the L2 exchange model (`l2exchange`) over normalised rows
(`market.events`, any source, cached as Parquet), the same agent core as live.

Time: the recording's local receive time is the exchange's clock here, and the event time the
agent's risk checks see (a capture's exchange and local clocks are often offset by seconds;
local time orders the markets of one recorder consistently). The agent sees each recorded
message after the feed latency, its orders reach the exchange after the order latency, and acks
and fills come back after the response latency (each leg FIFO, as one TCP connection).
Deterministic: no wall clock, no randomness unless the latency model draws it from its seed.

Two loops give the same results to the byte (a test): the compiled one (`backtest/_loop.pyx`,
with the compiled book and exchange model, when built: `agenthft.compiled`), which wakes the
strategy only when something it declared it reads changed, and `run_python`, the reference.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Sequence

import msgspec

from agenthft import compiled as _compiled
from agenthft.backtest.results import Recorder, Results
from agenthft.book import L2Book, Level
from agenthft.connectors.port import (
    AccountSnapshot,
    AmendRequest,
    CancelAllRequest,
    CancelRefused,
    CancelRequest,
    Caps,
    OrderEvent,
    OrderRequest,
    PortListener,
    Rejected,
    VenueLimits,
)
from agenthft.connectors.simulated.l2exchange import L2Exchange
from agenthft.connectors.simulated.latency import LatencyModel
from agenthft.market.events import ASK, BID, CLEAR, F_LAST, FUNDING, LEVEL, TRADE, Events
from agenthft.model import Instrument, InstrumentKind, Side
from agenthft.model.fixed import to_scaled
from agenthft.model.money import RATE_DECIMALS
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.runtime.gcpolicy import frozen
from agenthft.runtime.telemetry import BatchedTelemetry
from agenthft.signals.queue import CancelModel
from agenthft.strategies.base import Strategy

_SIDE = {BID: Side.BUY, ASK: Side.SELL, 0: Side.BUY}
_HOUR_NS = 3_600_000_000_000


class FundingSchedule(msgspec.Struct, frozen=True):
    """A funding rate charged to every perp position every `every_h` hours (at multiples of it
    since the Unix epoch: 00:00, 08:00 and 16:00 UTC for Binance's 8 h), at the mark then, for
    recordings that carry no funding of their own (`--funding RATE[@HOURS]`)."""

    rate: str
    every_h: float = 8.0

    @staticmethod
    def parse(text: str) -> FundingSchedule:
        rate, _, hours = text.partition("@")
        try:
            every = float(hours.removesuffix("h")) if hours else 8.0
            to_scaled(rate, RATE_DECIMALS)
        except ValueError:
            raise ValueError(f"--funding {text!r}: expected RATE[@HOURS], e.g. 0.0001@8 (8 h is Binance's)") from None
        if not 0 < every <= 24 * 365:
            raise ValueError(f"--funding {text!r}: the period must be a positive number of hours")
        return FundingSchedule(rate, every)

    def times(self, start_ns: int, end_ns: int) -> list[int]:
        period = int(self.every_h * _HOUR_NS)
        first = -(-start_ns // period) * period
        return list(range(first, end_ns + 1, period))


class DataPort:
    """The venue port of a backtest on recorded data: requests go onto the uplink (a FIFO) and reach
    the L2 exchange models after the order latency; their answers come back after the response
    latency (`DataBacktest._respond`). No sockets, no decoding: ints all the way."""

    name = "backtest"
    url = "backtest://data"
    caps = Caps(cancel_on_disconnect="(a backtest never disconnects)")
    connected = True
    reconnects = 0
    rtt_ns = 0

    def __init__(self, bt: DataBacktest) -> None:
        self.bt = bt

    async def instruments(self) -> list[Instrument]:
        return list(self.bt.instruments)

    async def limits(self) -> VenueLimits:
        return VenueLimits()

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        pass  # the backtest delivers to the runner itself

    def resubscribe(self, market: str) -> None:
        pass  # the recording cannot be asked for a snapshot; the next CLEAR resyncs the book

    def place(self, req: OrderRequest) -> bool:
        self.bt.to_exchange(req)
        return True

    def cancel(self, order_id: str, market: str) -> bool:
        self.bt.to_exchange(CancelRequest(order_id, market))
        return True

    def cancel_all(self, market: str | None = None) -> bool:
        self.bt.to_exchange(CancelAllRequest(market))
        return True

    def amend(self, req: AmendRequest) -> bool:
        return False

    async def snapshot(self) -> AccountSnapshot:
        return AccountSnapshot([], [])

    async def ping(self) -> int:
        return 0

    async def close(self) -> None:
        pass

    def drop(self) -> None:
        pass


def named(instruments: list[Instrument], wanted: tuple[str, ...]) -> list[Instrument]:
    """The recorded instruments under the names the strategy uses, when a name is one of an
    instrument's aliases ("BTC-PERP" for a capture's "BTCUSDT-PERP"); a name that is some
    instrument's own market name stays with that instrument."""
    own = {i.market for i in instruments}
    rename: dict[str, str] = {}
    for name in wanted:
        if name in own:
            continue
        for inst in instruments:
            if inst.market not in rename and inst.matches(name):
                rename[inst.market] = name
                break
    return [
        msgspec.structs.replace(i, market=rename[i.market], aliases=(*i.aliases, i.market)) if i.market in rename else i
        for i in instruments
    ]


def with_fees(inst: Instrument, maker_fee: str | None, taker_fee: str | None) -> Instrument:
    """The recorded instrument with the fees to charge (recordings carry no fee schedule)."""
    changes = {}
    if maker_fee is not None:
        changes["maker_fee"] = maker_fee
    if taker_fee is not None:
        changes["taker_fee"] = taker_fee
    return msgspec.structs.replace(inst, **changes) if changes else inst


class DataBacktest:
    def __init__(
        self,
        strategy: Strategy,
        events: Events,
        latency: LatencyModel,
        queue: CancelModel | str = "proportional",
        risk: RiskConfig | None = None,
        maker_fee: str | None = "0.0002",
        taker_fee: str | None = "0.0005",
        sample_ms: float = 100.0,
        start_ns: int | None = None,
        end_ns: int | None = None,
        funding: FundingSchedule | None = None,
        compiled: bool | None = None,
    ) -> None:
        """`compiled`: None runs the compiled data path when this install has it, True insists
        on it (RuntimeError without), False runs the pure-Python reference."""
        if compiled and not _compiled.AVAILABLE:
            raise RuntimeError(_compiled.NOTE)
        self.compiled = _compiled.AVAILABLE if compiled is None else compiled
        self.events, self.latency = events, latency
        self.instruments = [with_fees(i, maker_fee, taker_fee) for i in named(events.markets, strategy.markets)]
        exchange = _compiled.CL2Exchange if self.compiled else L2Exchange
        self.exchanges = [exchange(i, queue) for i in self.instruments]
        self.by_market = {x.market: x for x in self.exchanges}
        ts = events.columns["ts_local"]
        self.start_ns = start_ns if start_ns is not None else (ts[0] if ts else 0)
        self.end_ns = end_ns if end_ns is not None else (ts[-1] if ts else 0)
        self.now = self.start_ns
        self._last_up = self._last_down = 0
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []  # what is not on a link (funding times)
        # the two links of the order traffic: each delivers in the order it was given (a time is
        # never before the one ahead of it: `_last_up`, `_last_down`), so a FIFO each, merged with
        # the heap and the feed by (time, sequence number): the order one heap would give
        self._up: deque[tuple[int, int, OrderRequest | CancelRequest | CancelAllRequest]] = deque()
        self._down: deque[tuple[int, int, OrderEvent]] = deque()
        self._seq = 0
        #: scheduled funding times (a recording's own FUNDING rows arrive with the data)
        self._funding_rate = to_scaled(funding.rate, RATE_DECIMALS) if funding is not None else 0
        self.funding_events = 0
        for t in funding.times(self.start_ns, self.end_ns) if funding is not None else []:
            self._push(t, self._scheduled_funding)
        self.deliveries = 0
        self.order_events = 0  # order events delivered to the agent (a wake-up reason)
        self.rows = 0
        self.recorder = Recorder(sample_ms)
        book = _compiled.CL2Book if self.compiled else L2Book
        self.runner = Runner(strategy, DataPort(self), risk=risk, clock=self._clock, book_factory=book)
        self.runner.telemetry = BatchedTelemetry()  # simulated latencies repeat: counted, not recorded one by one
        self.runner.raise_strategy_errors = True  # a research run stops at a strategy's bug, with its traceback
        self.recorder.hook(self.runner)
        self._book_seq = [0] * len(self.exchanges)
        self.runner.attach(self.instruments)
        self.recorder.tick(self.runner, self.now)

    def _clock(self) -> int:
        return self.now

    def _push(self, t: int, fn: Callable[[int], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, fn))

    # --- agent -> exchange ---------------------------------------------------------------
    def to_exchange(self, req: OrderRequest | CancelRequest | CancelAllRequest) -> None:
        at = self._last_up = max(self._last_up, self.now + self.latency.order_ns())
        self._seq += 1
        self._up.append((at, self._seq, req))

    def _arrive(self, req: OrderRequest | CancelRequest | CancelAllRequest, t: int) -> None:
        out: list[OrderEvent]
        kind = type(req)
        if kind is OrderRequest:
            assert isinstance(req, OrderRequest)
            x = self.by_market.get(req.market)
            if x is None:
                out = [Rejected(req.order_id, "unknown_market", f"no market {req.market!r}", t)]
            else:
                out = x.submit(req.order_id, req.side, req.qty, req.price, req.order_type, t)
        elif kind is CancelRequest:
            assert isinstance(req, CancelRequest)
            oid = req.order_id
            x = self.by_market.get(req.market)
            if x is None or oid not in x.orders:  # (the request's market is the order's, as a rule)
                x = next((x for x in self.exchanges if oid in x.orders), None)
            out = x.cancel(oid, t) if x is not None else [CancelRefused(oid, "unknown_order", "no open order")]
        else:
            out = []
            for x in self.exchanges:
                if req.market in (None, x.market):
                    out += x.cancel_all(t)
        self._respond(out, t)

    # --- exchange -> agent ---------------------------------------------------------------
    def _respond(self, out: list[OrderEvent], t: int) -> None:
        """Each answer onto the link down, in order (FIFO whatever the latency draws). The answers a
        recorded message caused (its trades' fills) go after that message's market data: at one
        instant the agent sees the book it traded into, then its fills, and decides on the book as it
        is (as hftbacktest's strategy does; the other way round a re-quote on a fill used the book
        from before the fill, and most of those post-only orders were refused at arrival)."""
        response_ns, append = self.latency.response_ns, self._down.append
        last, seq = self._last_down, self._seq
        for m in out:
            at = t + response_ns()
            if at < last:
                at = last
            last = at
            seq += 1
            append((at, seq, m))
        self._last_down, self._seq = last, seq

    def _deliver(self, ev: OrderEvent, t: int) -> None:
        self.deliveries += 1
        self.order_events += 1
        self.now = t
        self.runner.on_order_event(ev, t)

    def _feed(self, at: int, fn: Callable[[int], None]) -> None:
        at = self._last_down = max(self._last_down, at + self.latency.feed_ns())
        self._push(at, fn)

    # --- the loop ----------------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Results:
        """Replay every row (`progress(done_ns, span_ns)` now and then) and summarize."""
        runner, rec = self.runner, self.recorder
        started = time.perf_counter()
        with frozen():  # the columns and tables built before the loop are not the collector's work
            rows = _compiled.Loop(self).run(progress) if self.compiled else self.run_python(progress)
        self.rows = rows
        self.now = max(self.now, self.end_ns)
        rec.tick(runner, self.now, force=True)
        wall = time.perf_counter() - started
        return rec.summarize(
            runner,
            f"data:{self.events.meta.source}:{','.join(i.market for i in self.instruments)}",
            0,
            (self.end_ns - self.start_ns) / 1e9,
            repr(self.latency),
            rows,
            wall,
        )

    def run_python(self, progress: Callable[[int, int], None] | None = None) -> int:
        """The reference loop: every message shown to the agent; returns the rows processed."""
        c = self.events.columns
        ts, mk, kind, side, price, qty, flags = (
            c["ts_local"],
            c["market"],
            c["kind"],
            c["side"],
            c["price"],
            c["qty"],
            c["flags"],
        )
        n = len(ts)
        heap, xs, runner, rec = self._heap, self.exchanges, self.runner, self.recorder
        start, end = self.start_ns, self.end_ns
        i = 0
        while i < n and ts[i] < start:
            i += 1
        span = max(1, end - start)
        next_report = start
        rows = 0
        out: list[OrderEvent] = []
        while True:
            t_rec = ts[i] if i < n and ts[i] <= end else None
            first = min((q[0] for q in (heap, self._up, self._down) if q), default=None)  # (time, seq, ...)
            if first is not None and (t_rec is None or first[0] < t_rec):
                t = first[0]
                if t > end and t_rec is None:
                    break
                self.now = t
                if heap and first is heap[0]:
                    heapq.heappop(heap)[2](t)
                elif self._up and first is self._up[0]:
                    self._arrive(self._up.popleft()[2], t)
                else:
                    self._deliver(self._down.popleft()[2], t)
                rec.tick(runner, t)
                continue
            if t_rec is None:
                break
            # one recorded message: applied whole at the exchange, then seen by the agent
            self.now = t_rec
            m = mk[i]
            x = xs[m]
            j = i
            snapshot = False
            while True:
                k = kind[j]
                if k == LEVEL:
                    x.level(side[j], price[j], qty[j])
                elif k == TRADE:
                    x.trade(side[j], price[j], qty[j], t_rec, out)
                elif k == CLEAR:
                    x.clear()
                    snapshot = True
                elif k == FUNDING:
                    self.funding_events += 1
                    x.funding(qty[j], price[j], t_rec, out)
                j += 1
                if flags[j - 1] & F_LAST or j >= n:
                    break
            rows += j - i
            if x.orders:
                x.crossed_through(t_rec, out)
            self._view(m, i, j, snapshot, t_rec)  # the message's market data first: see `_respond`
            if out:
                self._respond(out, t_rec)
                out = []
            i = j
            if progress is not None and t_rec >= next_report:
                progress(t_rec - start, span)
                next_report = t_rec + span // 100
        return rows

    def _scheduled_funding(self, t: int) -> None:
        """A `FundingSchedule` time: every perp position pays the rate at its exchange's mark."""
        self.now = t
        out: list[OrderEvent] = []
        for x in self.exchanges:
            if x.inst.kind is InstrumentKind.PERP:
                self.funding_events += 1
                x.funding(self._funding_rate, 0, t, out)
        if out:
            self._respond(out, t)

    def _view(self, m: int, i: int, j: int, snapshot: bool, t: int) -> None:
        """Schedule what the agent sees of rows i..j (one message of market m)."""
        c = self.events.columns
        kind, side, price, qty = c["kind"], c["side"], c["price"], c["qty"]
        market = self.instruments[m].market
        if kind[i] == FUNDING:
            return  # an account event: the exchange model answers it (a FundingMsg), not market data
        bids: list[Level] = []
        asks: list[Level] = []
        for r in range(i, j):
            if kind[r] == LEVEL:
                (bids if side[r] == BID else asks).append((price[r], qty[r]))
            elif kind[r] == TRADE:  # an L3 event (MBO) is its trade, then the book change it made
                p, q, s = price[r], qty[r], _SIDE[side[r]]
                self._feed(t, lambda at, p=p, q=q, s=s: self._see_trade(market, p, q, s, t, at))  # type: ignore[misc]
        if not (bids or asks or snapshot):
            return
        if snapshot:
            self._book_seq[m] = 1
            seq = 1
        else:
            self._book_seq[m] += 1
            seq = self._book_seq[m]

        self._feed(t, lambda at: self._see_book(market, bids, asks, seq, t, at, snapshot))

    def _see_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, t: int, at: int, snap: bool
    ) -> None:
        self.now = at
        self.deliveries += 1
        self.runner.on_book(market, bids, asks, seq, t, at, snap)
        self.recorder.tick(self.runner, at)

    def _see_trade(self, market: str, price: int, qty: int, side: Side, ts: int, at: int) -> None:
        self.now = at
        self.deliveries += 1
        self.runner.on_trade(market, price, qty, side, ts, at)


class DataOptions(msgspec.Struct, frozen=True):
    """How recorded data is read and traded in a backtest: every data flag of `agenthft backtest`,
    as plain data so that `sweep` hands the same options to each worker."""

    queue: str = "proportional"
    fees: str = "0.0002,0.0005"  # MAKER,TAKER fractions (negative maker: a rebate)
    instrument: str | None = None  # an instrument file (exchangeInfo JSON or TOML)
    funding: str | None = None  # RATE[@HOURS] for recordings without funding of their own
    ts_unit: str | None = None  # the local timestamps' unit when the data cannot say
    cache: bool = True
    cache_dir: str | None = None

    def check(self) -> None:
        """Refuse bad options before anything is decoded (each names the flag)."""
        from agenthft.signals.queue import MODELS

        if self.queue not in MODELS:
            raise ValueError(f"--queue {self.queue!r}: one of {', '.join(MODELS)}")
        maker, sep, taker = self.fees.partition(",")
        if not sep:
            raise ValueError(f"--fees {self.fees!r}: expected MAKER,TAKER, e.g. 0.0002,0.0005")
        for name, v in (("maker", maker), ("taker", taker)):
            try:
                to_scaled(v, 8)
            except ValueError:
                raise ValueError(f"--fees: the {name} fee {v!r} is not a decimal fraction") from None
        if self.funding is not None:
            FundingSchedule.parse(self.funding)

    def load(self, paths: Sequence[str]) -> Events:
        """The recorded rows (through the columnar cache unless `cache` is off)."""
        from agenthft.market.cache import EventCache
        from agenthft.market.feeds.probe import load_instruments
        from agenthft.market.sources import load_events

        instruments = load_instruments(self.instrument) if self.instrument else None
        cache = EventCache(self.cache_dir) if self.cache else None
        return load_events(paths, instruments, cache=cache, ts_unit=self.ts_unit)

    def backtest(
        self, strategy: Strategy, events: Events, latency: LatencyModel, risk: RiskConfig | None
    ) -> DataBacktest:
        maker, _, taker = self.fees.partition(",")
        funding = FundingSchedule.parse(self.funding) if self.funding else None
        return DataBacktest(
            strategy, events, latency, queue=self.queue, risk=risk, maker_fee=maker, taker_fee=taker, funding=funding
        )
