"""Backtest speed on recorded data, side by side with NautilusTrader and hftbacktest.

One strategy (`bbo-quoter`: a post-only bid one tick under the best bid and an ask one tick
over the best ask; an open order at another price is cancelled and replaced at once, an order
with a request in flight is left alone until answered; 1 lot), written the same way for each
engine; the same normalised rows fed to every engine, the same latencies (order entry 1 ms;
feed and response 0: NautilusTrader models latency on commands only) and fees (maker 2 bp,
taker 5 bp). Each engine is timed on its own runs (three on fresh state, the median reported);
the event log's rows (ours: made when first read) are timed apart; data preparation (capture -> that engine's
input) is timed apart. Ratios are ours / theirs, measured in this run. Three captures: the shared
USD-M file and the spot BTCUSDT pair (two files chained; both profiled while optimising), and the
COIN-M pair (inverse contracts, two files chained: never profiled nor tuned on; hftbacktest's
partial-fill exchange stops on it with its own error 14, and its no-partial-fill one, the same
model for the bench's 1-lot orders, is timed instead), unless captures are given (one set: files
after one another; `--capture` again for another set).

Strategy wake-ups: how often each engine ran the strategy's code (ours: its hooks; hftbacktest:
its loop's turns, one per feed timestamp; NautilusTrader: `on_order_book_deltas`).

NautilusTrader and hftbacktest come from the optional `bench` extra
(`pip install -e '.[bench]'`, or `make bench-compare`); without them only our rows are printed.

    python bench/backtest.py [--capture FILE ...]... [--json] [--python]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from agenthft import compiled
from agenthft.backtest.data import DataBacktest
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.cache import EventCache
from agenthft.market.events import ASK, BID, CLEAR, F_LAST, LEVEL, TRADE, Events
from agenthft.market.sources import load_events
from agenthft.oms import ClientOrder, VenueFill
from agenthft.risk import RiskConfig
from agenthft.strategies.base import Context
from agenthft.strategies.bbo_quoter import BboQuoter

DATA = Path(__file__).resolve().parents[1] / "../shared/data/hftbacktest"
CAPTURES = [  # the shared USD-M capture and the spot pair (both profiled while optimising), then the COIN-M pair
    [str(DATA / "usdm/btcusdt_20240808.gz")],
    [str(DATA / "spot/btcusdt_20240808.gz"), str(DATA / "spot/btcusdt_20240809.gz")],
    [str(DATA / "cm/btcusd_perp_20240808.gz"), str(DATA / "cm/btcusd_perp_20240809.gz")],
]
ORDER_NS = 1_000_000
MAKER, TAKER = "0.0002", "0.0005"
QUEUE_POWER = 2  # hftbacktest's power_prob_queue_model(2) and our "power2"
RUNS = 3  # each engine runs this many times on fresh state; the median (wall, CPU) is reported (--runs)


def median(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The median run by wall time (this machine is shared: one run can be slowed by a neighbour)."""
    return sorted(times)[len(times) // 2]


class CountingBbo(BboQuoter):
    """The shipped bbo-quoter, counting the order events that woke it (the runner counts its
    `on_book` calls; on_trade is not overridden: that would ask for every trade)."""

    wakes = 0

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        self.wakes += 1
        super().on_fill(ctx, order, fill)

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        self.wakes += 1
        super().on_order_done(ctx, order)


#: every risk check on, as by default, but the circuit breaker's order rate (50/s): hftbacktest's
#: strategy has no such layer, and "the same decisions" means no extra throttle in ours
NO_THROTTLE = RiskConfig(max_orders_per_s=0)


def ours(files: list[str], use_compiled: bool) -> tuple[dict[str, Any], Events]:
    with tempfile.TemporaryDirectory() as d:
        cache = EventCache(d)
        t0 = time.perf_counter()
        events = load_events(files, cache=cache)
        prep = time.perf_counter() - t0
        t0 = time.perf_counter()
        events = load_events(files, cache=cache)
        events.int64_columns()  # what the compiled loop indexes (zero-copy from the cache's Arrow columns)
        cached = time.perf_counter() - t0
    market = events.markets[0].market
    times = []
    for _ in range(RUNS):  # a fresh strategy and backtest each time; the median run is reported
        strategy = CountingBbo(market, events.markets[0].lot_size, 1)
        bt = DataBacktest(
            strategy,
            events,
            Constant(0, ORDER_NS / 1000, 0),
            queue=f"power{QUEUE_POWER}",
            risk=NO_THROTTLE,
            maker_fee=MAKER,
            taker_fee=TAKER,
            compiled=use_compiled,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        res = bt.run()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    run, cpu = median(times)
    t0 = time.perf_counter()
    log_rows = len(res.events)  # the event log's rows are made when first read: timed apart, said
    event_log = time.perf_counter() - t0
    s = res.summary
    return {
        "engine": f"agenthft (L2 model, {'compiled data path' if use_compiled else 'pure Python'}, Python strategy)",
        "rows": bt.rows,
        "run_s": run,
        "runs_s": [t for t, _ in times],
        "prep_s": prep,
        "prep_cached_s": cached,
        "events_per_s": bt.rows / run,
        "cpu_s": cpu,
        "events_per_cpu_s": bt.rows / cpu,
        "event_log_rows": log_rows,
        "event_log_s": event_log,  # its rows (decimal text) made after the run, when first read
        "wakeups": strategy.wakes + bt.runner.book_views,
        "wakeups_per_s": (strategy.wakes + bt.runner.book_views) / run,
        "messages_folded": bt.deliveries - bt.runner.book_views - bt.order_events,
        "throttled": bt.runner.throttled,
        "risk_denials": sum(bt.runner.risk.counts.values()),
        "orders": s.orders,
        "cancels": s.cancels,
        # orders its cancels ended: the rest of its cancels reached orders already filled
        "cancelled": sum(o.closed_by == "cancel_ack" for o in bt.runner.oms.orders.values()),
        "fills": s.fills,
        "maker_share": s.maker_share,
        "fees": s.fees,
        "pnl_after_fees": s.pnl_after_fees,
        "model": "recorded L2 + own orders with queue-ahead (power-2 cancels, trades eat the queue, "
        "partial fills, fill on trade-through and book-through), messages applied whole; runner with "
        "OMS + every risk check; 1 ms order entry",
    }, events


def whole_message_order(events: Events) -> list[int]:
    """Row indexes with each message's level rows put in an order whose every prefix leaves the
    book uncrossed (for an engine that applies rows one at a time): per message its trades, then
    the final value of each level it removes, then of each level it sets. The removals only take
    levels away from an uncrossed book; after them every level shown is one the message leaves,
    so no prefix is crossed when the message's result is not. Same rows, same result per message."""
    c = events.columns
    kind, side, price, qty, flags = c["kind"], c["side"], c["price"], c["qty"], c["flags"]
    out: list[int] = []
    i, n = 0, len(kind)
    while i < n:
        j = i
        while j < n and not flags[j] & F_LAST:
            j += 1
        j = min(j + 1, n)
        if any(kind[r] == CLEAR for r in range(i, j)):
            out.extend(range(i, j))  # a snapshot: cleared, then built up
        else:
            last: dict[tuple[int, int], int] = {}
            for r in range(i, j):
                if kind[r] == LEVEL:
                    last[(side[r], price[r])] = r
            out.extend(r for r in range(i, j) if kind[r] != LEVEL)
            out.extend(r for r in last.values() if qty[r] == 0)
            out.extend(r for r in last.values() if qty[r] != 0)
        i = j
    return out


#: hftbacktest's `wait_next_feed` answer at the end of the data
HFT_END = 1
#: hftbacktest's `wait_next_feed` answers other than a feed row (2) or an order response (3), as its
#: C binding maps them (py-hftbacktest's `BacktestError` codes)
HFT_CODES = {
    0: "timeout",
    HFT_END: "end of data",
    10: "error 10: OrderIdExist",
    11: "error 11: OrderRequestInProcess",
    12: "error 12: OrderNotFound",
    13: "error 13: InvalidOrderRequest",
    14: "error 14: InvalidOrderStatus",
    15: "error 15: EndOfData",
    100: "error 100: DataError",
}


def ended(rc: int) -> str:
    """How hftbacktest's loop ended, from its last `wait_next_feed` answer."""
    return HFT_CODES.get(int(rc), f"code {int(rc)}")


def hftbacktest_run(events: Events, files: list[str]) -> dict[str, Any]:
    import numpy as np
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        NEW,
        SELL_EVENT,
        TRADE_EVENT,
        BacktestAsset,
        HashMapMarketDepthBacktest,
        event_dtype,
    )
    from hftbacktest.order import PARTIALLY_FILLED
    from numba import njit

    inst = events.markets[0]
    tick, lot = float(inst.tick_size), float(inst.lot_size)
    t0 = time.perf_counter()
    c = events.columns
    order = np.asarray(whole_message_order(events), dtype=np.int64)
    kind = np.asarray(c["kind"], dtype=np.int64)[order]
    side = np.asarray(c["side"], dtype=np.int64)[order]
    keep = (kind == LEVEL) | (kind == TRADE) | (kind == CLEAR)
    n = int(keep.sum())
    arr = np.zeros(n, dtype=event_dtype)
    k, s = kind[keep], side[keep]
    ev = np.where(k == TRADE, TRADE_EVENT, np.where(k == CLEAR, DEPTH_CLEAR_EVENT, DEPTH_EVENT))
    ev = ev | np.where(s == BID, BUY_EVENT, np.where(s == ASK, SELL_EVENT, 0)) | EXCH_EVENT | LOCAL_EVENT
    ts = np.asarray(c["ts_local"], dtype=np.int64)[order][keep]
    arr["ev"] = ev.astype(np.uint64)
    arr["exch_ts"] = ts  # one clock for the exchange and the agent, as in ours (feed latency 0)
    arr["local_ts"] = ts
    arr["px"] = np.asarray(c["price"], dtype=np.float64)[order][keep] * tick
    arr["qty"] = np.asarray(c["qty"], dtype=np.float64)[order][keep] * lot
    # a CLEAR row clears both sides: hftbacktest clears one side per row
    clears = np.nonzero(k == CLEAR)[0]
    if len(clears):
        extra = arr[clears].copy()
        arr["ev"][clears] = DEPTH_CLEAR_EVENT | BUY_EVENT | EXCH_EVENT | LOCAL_EVENT
        extra["ev"] = DEPTH_CLEAR_EVENT | SELL_EVENT | EXCH_EVENT | LOCAL_EVENT
        arr = np.insert(arr, clears + 1, extra)
    prep = time.perf_counter() - t0

    @njit
    def bbo_quoter(hbt, qty, until):
        bid_id = ask_id = 0
        bid_tick = ask_tick = 0
        next_id = 1
        orders_sent = cancels = wakes = 0
        while True:
            rc = hbt.wait_next_feed(True, until)
            if rc != 2 and rc != 3:  # not a feed row nor an answer about our orders: the end, or its error
                break
            wakes += 1
            depth = hbt.depth(0)
            bb, ba = depth.best_bid_tick, depth.best_ask_tick
            if bb <= -(2**62) or ba >= 2**62:  # a side has no level yet (ours waits for both too):
                continue  # quoting off its INVALID_MIN/MAX ticks sent hundreds of orders before the book
            orders = hbt.orders(0)
            for is_bid in (True, False):
                oid = bid_id if is_bid else ask_id
                want = bb - 1 if is_bid else ba + 1
                cur = bid_tick if is_bid else ask_tick
                live = False
                if oid != 0:
                    o = orders.get(oid)
                    if o is not None and o.req != 0:  # placed or cancelled, not yet answered: wait
                        continue
                    live = o is not None and (o.status == NEW or o.status == PARTIALLY_FILLED)
                if live and cur == want:
                    continue
                if live:
                    hbt.cancel(0, oid, False)
                    cancels += 1
                if is_bid:
                    hbt.submit_buy_order(0, next_id, want * depth.tick_size, qty, 1, 0, False)
                    bid_id, bid_tick = next_id, want
                else:
                    hbt.submit_sell_order(0, next_id, want * depth.tick_size, qty, 1, 0, False)
                    ask_id, ask_tick = next_id, want
                next_id += 1
                orders_sent += 1
            hbt.clear_inactive_orders(0)
        return orders_sent, cancels, wakes, rc, hbt.current_timestamp

    def build(data: Any, partial: bool) -> Any:
        asset = BacktestAsset().data([data])
        # an inverse contract's value in the coin, as ours (COIN-M: 100 USD per contract)
        asset = asset.inverse_asset(float(inst.contract_size)) if inst.inverse else asset.linear_asset(1.0)
        asset = asset.constant_order_latency(ORDER_NS, 0).power_prob_queue_model(float(QUEUE_POWER))
        asset = asset.partial_fill_exchange() if partial else asset.no_partial_fill_exchange()
        asset = asset.trading_value_fee_model(float(MAKER), float(TAKER)).tick_size(tick).lot_size(lot)
        return HashMapMarketDepthBacktest([asset])

    t0 = time.perf_counter()
    warm = build(arr[: min(len(arr), 20_000)], True)
    bbo_quoter(warm, lot, 10**18)  # numba compiles on the first call
    warm.close()
    compile_s = time.perf_counter() - t0

    # Its partial-fill exchange first. On the COIN-M pair it stops after 53 of 647 s with its own
    # error 14 (InvalidOrderStatus). The bench's orders are 1 lot, which cannot fill in part: there
    # its no-partial-fill exchange is the same model (identical orders and fills on the USD-M and
    # spot captures, checked) and runs to the end, so it is timed instead, and the row says so.
    def timed(partial: bool) -> tuple[list[tuple[float, float]], Any, Any]:
        """RUNS runs on fresh state (fewer when its loop ends in an error); the last left open."""
        times = []
        while True:
            hbt = build(arr, partial)
            t0, c0 = time.perf_counter(), time.process_time()
            result = bbo_quoter(hbt, lot, 10**18)
            times.append((time.perf_counter() - t0, time.process_time() - c0))
            if len(times) == RUNS or result[3] != HFT_END:
                return times, result, hbt
            hbt.close()

    partial_error = ""
    times, result, hbt = timed(True)
    if result[3] != HFT_END:  # not the end of the data: its error
        partial_error = ended(result[3])
        hbt.close()
        times, result, hbt = timed(False)
    sent, cancels, wakes, rc, stopped_ns = result
    run, cpu = median(times)
    state = hbt.state_values(0)
    out = {
        "engine": "hftbacktest (Rust core, numba strategy)",
        "rows": len(arr),
        "run_s": run,
        "runs_s": [t for t, _ in times],
        "prep_s": prep,
        "jit_compile_s": compile_s,
        "events_per_s": len(arr) / run,
        "cpu_s": cpu,
        "events_per_cpu_s": len(arr) / cpu,
        "wakeups": int(wakes),
        "wakeups_per_s": int(wakes) / run,
        "orders": int(sent),
        "cancels": int(cancels),
        "fills": int(state.num_trades),
        "fees": float(state.fee),
        # how its loop ended: 1 is the end of the data; another code is its error (BacktestError),
        # and the run covers the rows up to `stopped_at_s` only
        "ended": ended(rc),
        "exchange": "partial fills" if not partial_error else "no partial fills (1-lot orders: the same model)",
        "partial_fill_exchange_ended": partial_error or "end of data",
        "stopped_at_s": (int(stopped_ns) - int(arr["local_ts"][0])) / 1e9,
        "span_s": (int(arr["local_ts"][-1]) - int(arr["local_ts"][0])) / 1e9,
        "model": "recorded L2 + own orders with power-2 probabilistic queue, partial fills; rows one at a "
        "time in an order that never crosses the book mid-message; 1 ms order entry; no OMS or risk layer "
        "(the strategy sees the raw book and orders)",
    }
    hbt.close()
    if len(files) == 1 and events.meta.source == "binance":
        import contextlib

        from hftbacktest.data.utils import binancefutures

        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # it prints its corrections
            own = binancefutures.convert(files[0], combined_stream=True)
        out["prep_own_converter_s"] = time.perf_counter() - t0  # its converter, from the raw capture
        out["own_converter_rows"] = len(own)
    return out


def nautilus_run(events: Events, files: list[str]) -> dict[str, Any]:
    from nautilus_trader.backtest.config import BacktestEngineConfig
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.backtest.models import LatencyModel
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import BTC, USD, USDT
    from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas, TradeTick
    from nautilus_trader.model.enums import (
        AccountType,
        AggressorSide,
        BookAction,
        BookType,
        OmsType,
        OrderSide,
        RecordFlag,
        TimeInForce,
    )
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, TradeId, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import FIXED_PRECISION, Money, Price, Quantity
    from nautilus_trader.trading.strategy import Strategy as NStrategy

    inst = events.markets[0]
    g = inst.grid
    venue = Venue("SIM")
    symbol = Symbol(inst.market.replace("_", ""))  # NautilusTrader reads A_B as a spread of A and B
    iid = InstrumentId(symbol, venue)
    quote, settle = (USD, BTC) if inst.inverse else (USDT, USDT)  # COIN-M: USD contracts settled in BTC
    n_inst = CryptoPerpetual(
        instrument_id=iid,
        raw_symbol=symbol,
        base_currency=BTC,
        quote_currency=quote,
        settlement_currency=settle,
        is_inverse=inst.inverse,
        multiplier=Quantity.from_str(inst.contract_size),
        price_precision=g.tick_decimals,
        price_increment=Price.from_str(inst.tick_size),
        size_precision=g.lot_decimals,
        size_increment=Quantity.from_str(inst.lot_size),
        max_quantity=None,
        min_quantity=Quantity.from_str(inst.lot_size),
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal("0.05"),
        margin_maint=Decimal("0.025"),
        maker_fee=Decimal(MAKER),
        taker_fee=Decimal(TAKER),
        ts_event=0,
        ts_init=0,
    )
    t0 = time.perf_counter()
    c = events.columns
    pmul = g.tick_units * 10 ** (FIXED_PRECISION - g.tick_decimals)
    qmul = g.lot_units * 10 ** (FIXED_PRECISION - g.lot_decimals)
    pp, qp = g.tick_decimals, g.lot_decimals
    data: list[Any] = []  # book deltas, one OrderBookDeltas per recorded message
    trades: list[Any] = []
    batch: list[Any] = []
    from_raw = OrderBookDelta.from_raw
    buy, sell = OrderSide.BUY, OrderSide.SELL
    for i, k in enumerate(c["kind"]):
        ts = c["ts_local"][i]
        if k == TRADE:
            aggr = AggressorSide.BUYER if c["side"][i] == BID else AggressorSide.SELLER
            trades.append(
                TradeTick.from_raw(
                    iid, c["price"][i] * pmul, pp, c["qty"][i] * qmul, qp, aggr, TradeId(str(c["seq"][i])), ts, ts
                )
            )
            continue
        last = bool(c["flags"][i] & F_LAST)
        flags = RecordFlag.F_LAST if last else 0
        if k == CLEAR:
            batch.append(OrderBookDelta.clear(iid, c["seq"][i], ts, ts))
        elif k == LEVEL:
            q = c["qty"][i]
            action = BookAction.UPDATE if q else BookAction.DELETE
            side = buy if c["side"][i] == BID else sell
            batch.append(from_raw(iid, action, side, c["price"][i] * pmul, pp, q * qmul, qp, 0, flags, 0, ts, ts))
        if last and batch:
            data.append(OrderBookDeltas(iid, batch))
            batch = []
    prep = time.perf_counter() - t0
    rows = len(events)

    class Cfg(StrategyConfig, frozen=True):  # type: ignore[call-arg,misc]
        instrument_id: InstrumentId
        qty: str

    class NautilusBbo(NStrategy):  # type: ignore[misc]
        def __init__(self, config: Cfg) -> None:
            super().__init__(config)
            self.quotes: dict[bool, Any] = {True: None, False: None}
            self.sent = 0
            self.cancels = 0
            self.wakes = 0

        def on_start(self) -> None:
            self.inst = self.cache.instrument(self.config.instrument_id)
            self.qty = self.inst.make_qty(Decimal(self.config.qty))
            self.tick = Decimal(str(self.inst.price_increment))
            self.subscribe_order_book_deltas(self.config.instrument_id, book_type=BookType.L2_MBP)

        def on_order_filled(self, event: Any) -> None:  # the same rules at once, as ours
            self.on_order_book_deltas(None)

        def on_order_canceled(self, event: Any) -> None:
            self.on_order_book_deltas(None)

        def on_order_rejected(self, event: Any) -> None:
            self.on_order_book_deltas(None)

        def on_order_book_deltas(self, deltas: Any) -> None:
            self.wakes += 1
            book = self.cache.order_book(self.config.instrument_id)
            bb, ba = book.best_bid_price(), book.best_ask_price()
            for is_bid in (True, False):
                best = bb if is_bid else ba
                if best is None:
                    continue
                want = self.inst.make_price(best.as_decimal() - self.tick if is_bid else best.as_decimal() + self.tick)
                o = self.quotes[is_bid]
                if o is not None and not o.is_closed:
                    if o.is_inflight or not o.is_open:  # submitted or cancelling, not yet answered: wait
                        continue
                    if o.price == want:
                        continue
                    self.cancel_order(o)
                    self.cancels += 1
                new = self.order_factory.limit(
                    self.config.instrument_id,
                    OrderSide.BUY if is_bid else OrderSide.SELL,
                    self.qty,
                    want,
                    time_in_force=TimeInForce.GTC,
                    post_only=True,
                )
                self.submit_order(new)
                self.quotes[is_bid] = new
                self.sent += 1

    times = []
    for k in range(RUNS):  # a fresh engine each time (the data objects are reused)
        engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True)))
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=None,
            starting_balances=[Money(1_000_000, settle)],
            book_type=BookType.L2_MBP,
            latency_model=LatencyModel(base_latency_nanos=ORDER_NS),
            trade_execution=True,
        )
        engine.add_instrument(n_inst)
        t0 = time.perf_counter()
        engine.add_data(data)  # one type per call: the engine reads the first element's type
        engine.add_data(trades)
        add_s = time.perf_counter() - t0
        strat = NautilusBbo(Cfg(instrument_id=iid, qty=inst.lot_size))
        engine.add_strategy(strat)
        t0, c0 = time.perf_counter(), time.process_time()
        engine.run()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
        if k < RUNS - 1:
            engine.dispose()
    run, cpu = median(times)
    fills = engine.trader.generate_fills_report()
    out = {
        "engine": "NautilusTrader BacktestEngine (Rust/Cython core, Python strategy)",
        "rows": rows,
        "run_s": run,
        "runs_s": [t for t, _ in times],
        "prep_s": prep + add_s,
        "events_per_s": rows / run,
        "cpu_s": cpu,
        "events_per_cpu_s": rows / cpu,
        "wakeups": strat.wakes,
        "wakeups_per_s": strat.wakes / run,
        "objects": len(data) + len(trades),
        "orders": strat.sent,
        "cancels": strat.cancels,
        "fills": len(fills),
        "model": "recorded L2 book; own orders fill when a trade prints at their price (trade_execution) "
        "or the book crosses them, no queue-ahead; 1 ms latency on commands; portfolio + risk engine",
    }
    engine.dispose()
    return out


def crossed_mid_message(events: Events) -> int:
    """Rows after which the book is crossed when rows are applied one at a time (an engine that
    does not apply a message whole sees these states; we never do)."""
    from agenthft.book import L2Book

    c = events.columns
    books: dict[int, L2Book] = {}
    n = 0
    for i, k in enumerate(c["kind"]):
        b = books.setdefault(c["market"][i], L2Book())
        if k == CLEAR:
            b.clear()
        elif k == LEVEL:
            (b.set_bid if c["side"][i] == BID else b.set_ask)(c["price"][i], c["qty"][i])
            n += b.is_crossed()
    return n


def compare(files: list[str], use_compiled: bool) -> dict[str, Any]:
    """Every engine over one capture (a set of files read as one), in this process."""
    rows: list[dict[str, Any]] = []
    mine, events = ours(files, use_compiled)
    rows.append(mine)
    notes = [] if use_compiled else [compiled.NOTE]
    for name, fn in (("hftbacktest", hftbacktest_run), ("nautilus_trader", nautilus_run)):
        try:
            rows.append(fn(events, files))
        except ImportError as e:
            notes.append(f"{name} not installed ({e.name}): pip install -e '.[bench]'")
    report: dict[str, Any] = {
        "capture": files,
        "market": events.markets[0].market,
        "rows": len(events),
        "messages": len(events.message_ends()),
        "rows_leaving_book_crossed_mid_message": crossed_mid_message(events),
        "cache_speedup": mine["prep_s"] / mine["prep_cached_s"],
        "engines": rows,
        "notes": notes,
    }
    for r in rows[1:]:
        key = "nautilus" if "Nautilus" in r["engine"] else "hftbacktest"
        if r.get("ended", "end of data") != "end of data":  # it covered part of the rows: no ratio
            notes.append(
                f"{key} stopped with {r['ended']} after {r['stopped_at_s']:.0f} s of the capture's "
                f"{r['span_s']:.0f} s: its rows/s and counts cover that part only, so no ratio is given"
            )
            continue
        report[f"ratio_vs_{key}"] = mine["events_per_s"] / r["events_per_s"]  # wall clock
        report[f"cpu_ratio_vs_{key}"] = mine["events_per_cpu_s"] / r["events_per_cpu_s"]  # this process's CPU time
        if key == "hftbacktest":  # the same-work check: orders and fills within 10 %
            report["same_work_vs_hftbacktest"] = {
                k: {"ours": mine[k], "hftbacktest": r[k], "ratio": mine[k] / r[k] if r[k] else None,
                    "within_10pct": bool(r[k]) and abs(mine[k] / r[k] - 1) <= 0.10}
                for k in ("orders", "fills")
            }  # fmt: skip
            report["same_work_vs_hftbacktest"]["cancels"] = {
                "ours_sent": mine["cancels"],
                "ours_cancelled": mine["cancelled"],
                "hftbacktest_sent": r["cancels"],
                "why_sent_differ": "at one instant ours sees a message's book, then the fills it caused: a "
                "cancel sent on that book can reach an order the same message filled (refused at the "
                "exchange); hftbacktest's loop applies every event of an instant before its strategy runs",
            }
    return report


def main() -> int:
    global RUNS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", nargs="+", action="append", help="files of one capture (repeat for more)")
    ap.add_argument("--python", action="store_true", help="our pure-Python data path instead of the compiled one")
    ap.add_argument("--json", action="store_true", help="JSON only")
    ap.add_argument("--runs", type=int, default=RUNS, help=f"runs per engine, the median reported (default {RUNS})")
    args = ap.parse_args()
    RUNS = max(1, args.runs)
    use_compiled = compiled.AVAILABLE and not args.python
    report = {
        "bench": "backtest",
        "data_path": "compiled" if use_compiled else "python",
        "data_path_note": compiled.NOTE,
        "captures": [compare(files, use_compiled) for files in (args.capture or CAPTURES)],
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
