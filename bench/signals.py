"""Cost of the microstructure detectors per book delta, on a real capture, all detectors on.

Baseline in the same run: the plain L2 book update of the same deltas (what the runtime pays
anyway). Both loops take pre-parsed integer levels, so only the book and the detectors are timed.
Prints JSON.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agenthft.book import L2Book
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import hftbacktest_lines
from agenthft.model import Side
from agenthft.signals import MarketSignals
from bench._common import DATA, emit

CAPTURE = DATA / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"


Levels = list[tuple[int, int]]
Update = tuple[int, Levels, Levels]


def load(path: Path) -> tuple[list[Update], list[tuple[int, int, Side, int]]]:
    """Depth updates after the snapshot as (ts, bids, asks) in ticks/lots, and trades."""
    info = binance.probe_binance([path])
    g = info.instrument.grid
    env_dec = msgspec.json.Decoder(binance.Envelope)
    depth_dec = msgspec.json.Decoder(binance.DepthUpdate)
    trade_dec = msgspec.json.Decoder(binance.Trade)
    updates, trades = [], []
    for _ns, raw in hftbacktest_lines([path]):
        env = env_dec.decode(raw)
        if "@depth" in env.stream:
            u = depth_dec.decode(env.data)
            lv = binance.parse_levels
            updates.append((u.E * 1_000_000, lv(g, u.b), lv(g, u.a)))
        elif env.stream.endswith("@trade"):
            t = trade_dec.decode(env.data)
            trades.append((g.price_to_ticks(t.p), g.qty_to_lots(t.q), Side.SELL if t.m else Side.BUY, t.T * 1_000_000))
    return updates, trades


def run(updates: list[Update], with_signals: bool) -> tuple[float, int]:
    book = L2Book("M")
    sig = MarketSignals("M", book) if with_signals else None
    n = 0
    set_bid, set_ask = book.set_bid, book.set_ask
    t0 = time.perf_counter_ns()
    for ts, bids, asks in updates:
        for p, q in bids:
            set_bid(p, q)
            if sig is not None:
                sig.on_level(Side.BUY, p, q, ts)
        for p, q in asks:
            set_ask(p, q)
            if sig is not None:
                sig.on_level(Side.SELL, p, q, ts)
        n += len(bids) + len(asks)
        if sig is not None and sig.events:
            sig.events.clear()
    return (time.perf_counter_ns() - t0) / n, n


def main() -> None:
    updates, _ = load(CAPTURE)
    best = {False: float("inf"), True: float("inf")}
    n = 0
    for _ in range(3):
        for on in (False, True):
            ns, n = run(updates, on)
            best[on] = min(best[on], ns)
    emit(
        "signals",
        {
            "capture": CAPTURE.name,
            "level_changes": n,
            "book_only_ns_per_delta": round(best[False], 1),
            "book_plus_detectors_ns_per_delta": round(best[True], 1),
            "detectors_ns_per_delta": round(best[True] - best[False], 1),
            "goal_detectors_us_per_delta": 2.0,
        },
    )


if __name__ == "__main__":
    main()
