"""Matching engine throughput and per-op latency.

1M ops (60 % passive adds, 30 % cancels, 10 % marketable IOCs) over 50 accounts on one perp
market, with full accounting (holds, fees, positions) and events on, against in the same run
a plain dict + deque + bisect engine with no accounting and no events. Throughput is best
of 3 untimed-per-op passes; latency percentiles come from one more pass timing every op
into an HdrHistogram. Prints JSON.
"""

from __future__ import annotations

import json
import random
import sys
import time
from bisect import bisect_left, insort
from collections import deque
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agenthft.matching import EngineConfig, MatchingEngine, text_to_cash
from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from bench import _compiled as compiled
from bench._common import best_of, emit

PERP = Instrument(
    "BTC-PERP",
    "BTC",
    "USDC",
    InstrumentKind.PERP,
    tick_size="0.1",
    lot_size="0.001",
    maker_fee="-0.0001",
    taker_fee="0.0005",
)
ACCOUNTS = [f"acct{i}" for i in range(50)]
ADD, CANCEL, TAKE = 0, 1, 2
Op = tuple[int, str, str, Side, int, int]  # kind, account, order_id, side, price, qty
Entry = list[Any]  # [order id, remaining qty], mutated in place


def make_ops(n: int, seed: int = 11) -> list[Op]:
    rng = random.Random(seed)
    mid = 600_000
    live: list[tuple[str, str]] = []
    ops: list[Op] = []
    for i in range(n):
        r = rng.random()
        acct = rng.choice(ACCOUNTS)
        if r < 0.6 or not live:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            off = 1 + int(rng.expovariate(1 / 8))
            price = mid - off if side is Side.BUY else mid + off
            oid = f"o{i}"
            ops.append((ADD, acct, oid, side, price, rng.randint(1, 20)))
            live.append((acct, oid))
        elif r < 0.9:
            j = rng.randrange(len(live))
            live[j], live[-1] = live[-1], live[j]
            a, oid = live.pop()
            ops.append((CANCEL, a, oid, Side.BUY, 0, 0))
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            price = mid + 40 if side is Side.BUY else mid - 40
            ops.append((TAKE, acct, f"t{i}", side, price, rng.randint(1, 30)))
        if i % 1000 == 0:
            mid += rng.randint(-3, 3)
    return ops


def new_engine() -> MatchingEngine:
    e = MatchingEngine([PERP], EngineConfig(market_band_bps=100))
    for a in ACCOUNTS:
        e.deposit(a, "USDC", text_to_cash("100000000000"))
    return e


def run_engine(ops: list[Op], hist: HdrHistogram | None = None) -> int:
    e = new_engine()
    submit, cancel, drain = e.submit, e.cancel, e.drain
    m, limit, ioc = PERP.market, OrderType.LIMIT, OrderType.IOC
    clock = time.perf_counter_ns
    for n, (kind, acct, oid, side, price, qty) in enumerate(ops):
        t0 = clock() if hist is not None else 0
        if kind == ADD:
            submit(acct, oid, m, side, qty, price, limit, 0, n)
        elif kind == CANCEL:
            cancel(acct, oid, n)
        else:
            submit(acct, oid, m, side, qty, price, ioc, 0, n)
        if hist is not None:
            hist.record_value(max(1, clock() - t0))
        if n & 1023 == 0:
            drain()  # the server drains after every command; batching keeps the list small
    return len(ops)


class BaselineEngine:
    """A plain engine: dict price -> deque of [oid, qty], bisect-sorted prices, no accounts."""

    def __init__(self) -> None:
        self.levels: dict[Side, dict[int, deque[Entry]]] = {Side.BUY: {}, Side.SELL: {}}
        self.prices: dict[Side, list[int]] = {Side.BUY: [], Side.SELL: []}
        self.orders: dict[str, tuple[Side, int, Entry]] = {}

    def add(self, oid: str, side: Side, price: int, qty: int, rest: bool) -> None:
        opp = side.opposite
        prices, levels = self.prices[opp], self.levels[opp]
        while qty and prices:
            best = prices[0] if opp is Side.SELL else prices[-1]
            if (best > price) if side is Side.BUY else (best < price):
                break
            q = levels[best]
            while qty and q:
                head = q[0]
                take = min(qty, head[1])
                head[1] -= take
                qty -= take
                if head[1] == 0:
                    q.popleft()
                    del self.orders[head[0]]
            if not q:
                del levels[best]
                prices.remove(best)
        if qty and rest:
            entry = [oid, qty]
            lv = self.levels[side].get(price)
            if lv is None:
                lv = self.levels[side][price] = deque()
                insort(self.prices[side], price)
            lv.append(entry)
            self.orders[oid] = (side, price, entry)

    def cancel(self, oid: str) -> None:
        got = self.orders.pop(oid, None)
        if got is None:
            return
        side, price, entry = got
        q = self.levels[side][price]
        q.remove(entry)
        if not q:
            del self.levels[side][price]
            ps = self.prices[side]
            del ps[bisect_left(ps, price)]


def run_baseline(ops: list[Op]) -> int:
    b = BaselineEngine()
    for kind, _acct, oid, side, price, qty in ops:
        if kind == CANCEL:
            b.cancel(oid)
        else:
            b.add(oid, side, price, qty, kind == ADD)
    return len(ops)


def percentiles(h: HdrHistogram) -> dict[str, float]:
    return {f"p{p}": round(h.get_value_at_percentile(p) / 1000, 2) for p in (50, 99, 99.9)} | {
        "max": round(h.get_max_value() / 1000, 2)
    }


def measure(n: int) -> dict[str, object]:
    """Throughput (best of 3) and per-op latency of the engine as imported, with the
    baseline engine run on the same ops in the same process."""
    import agenthft.matching.engine as engine_module

    ops = make_ops(n)
    secs, count = best_of(3, lambda: run_engine(ops))
    base_secs, _ = best_of(3, lambda: run_baseline(ops))
    hist = HdrHistogram(1, 10_000_000_000, 3)
    run_engine(ops, hist)
    return {
        "build": "mypyc" if not engine_module.__file__.endswith(".py") else "cpython",
        "ops_per_s": round(count / secs),
        "baseline_ops_per_s": round(count / base_secs),
        "ratio_vs_baseline": round(base_secs / secs, 2),
        "latency_us": percentiles(hist),
    }


def events_per_op(n: int = 100_000) -> float:
    e = new_engine()
    for kind, acct, oid, side, price, qty in make_ops(n):
        if kind == CANCEL:
            e.cancel(acct, oid)
        else:
            e.submit(acct, oid, PERP.market, side, qty, price, OrderType.LIMIT if kind == ADD else OrderType.IOC)
    return round(len(e.drain()) / n, 2)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    if "--worker" in sys.argv:  # run by the parent with the compiled build first on sys.path
        print(json.dumps(measure(n)))
        return
    results = [measure(n)]
    if "--no-compiled" not in sys.argv:
        root = compiled.build()
        if root is not None:
            results.append(json.loads(compiled.run_in(root, __file__, str(n), "--worker")))
    emit(
        "matching",
        {
            "ops": n,
            "mix": "60% add, 30% cancel, 10% marketable IOC; 50 accounts; accounting + events on",
            "baseline": "dict + deque + bisect engine, no accounts, no events, same ops, same process",
            "events_per_op": events_per_op(),
            "builds": results,
        },
    )


if __name__ == "__main__":
    main()
