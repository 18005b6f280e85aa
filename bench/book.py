"""L2 book throughput: level updates/s with a top-of-book read after every update.

Three books run the same update stream in the same process:
- `agenthft`: agenthft.book.L2Book (dict + bisect ladder, best level at the list's end)
- `sorteddict`: sortedcontainers.SortedDict per side
- `article`: the article's book, a dict per side with max()/min() for the best price
Streams: the real Binance USD-M capture (all depth levels after the snapshot) and 1M
synthetic updates (90 % within 20 ticks of the touch, 30 % deletes). Prints JSON.
"""

from __future__ import annotations

import random
import sys
from functools import partial
from pathlib import Path

import msgspec
from sortedcontainers import SortedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agenthft.book import L2Book
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import hftbacktest_lines
from agenthft.model import Side
from bench._common import DATA, best_of, emit

Update = tuple[bool, int, int]  # (is_bid, price ticks, qty lots)


class ArticleBook:
    """The article's sketch: hash map per side, best price by scanning every key."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def set_bid(self, p: int, q: int) -> None:
        if q:
            self.bids[p] = q
        else:
            self.bids.pop(p, None)

    def set_ask(self, p: int, q: int) -> None:
        if q:
            self.asks[p] = q
        else:
            self.asks.pop(p, None)

    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None


class SortedDictBook:
    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()

    def set_bid(self, p: int, q: int) -> None:
        if q:
            self.bids[p] = q
        else:
            self.bids.pop(p, None)

    def set_ask(self, p: int, q: int) -> None:
        if q:
            self.asks[p] = q
        else:
            self.asks.pop(p, None)

    def best_bid(self) -> int | None:
        return self.bids.peekitem(-1)[0] if self.bids else None

    def best_ask(self) -> int | None:
        return self.asks.peekitem(0)[0] if self.asks else None


def usdm_stream() -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[Update]]:
    """Snapshot levels and every depth level change after it, from the real USD-M capture."""
    path = DATA / "hftbacktest/usdm/btcusdt_20240808.gz"
    inst, futures = binance.instrument_for([path])
    sync = binance.BinanceDepthSync(inst, futures)
    g = inst.grid
    env_dec = msgspec.json.Decoder(binance.Envelope)
    dep_dec = msgspec.json.Decoder(binance.DepthUpdate)
    snap: tuple[list[tuple[int, int]], list[tuple[int, int]]] | None = None
    updates: list[Update] = []

    def take(u: binance.DepthUpdate) -> None:
        updates.extend((True, p, q) for p, q in binance.parse_levels(g, u.b))
        updates.extend((False, p, q) for p, q in binance.parse_levels(g, u.a))

    for _, raw in hftbacktest_lines([path]):
        env = env_dec.decode(raw)
        if not env.data and env.lastUpdateId >= 0:
            snap = (binance.parse_levels(g, env.bids), binance.parse_levels(g, env.asks))
            for u in sync.on_snapshot(env.lastUpdateId, env.bids, env.asks):
                take(u)
        elif "@depth" in env.stream:
            u = dep_dec.decode(env.data)
            if sync.on_depth(u):
                take(u)
    assert snap is not None
    return snap[0], snap[1], updates


def synthetic_stream(n: int, seed: int = 7) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[Update]]:
    """n updates around a 1000-level book: 90 % within 20 ticks of the touch, 30 % deletes.

    Generated against an L2Book so deletes hit existing levels and the book never crosses.
    """
    rng = random.Random(seed)
    mid = 1_000_000
    ref = L2Book()
    snap_b = [(mid - 1 - i, rng.randint(1, 500)) for i in range(1000)]
    snap_a = [(mid + 1 + i, rng.randint(1, 500)) for i in range(1000)]
    ref.load_snapshot(snap_b, snap_a)
    out: list[Update] = []
    while len(out) < n:
        is_bid = rng.random() < 0.5
        best_b, best_a = ref.best_bid() or mid - 1, ref.best_ask() or mid + 1
        best, away = (best_b, -1) if is_bid else (best_a, 1)
        off = rng.randint(0, 20) if rng.random() < 0.9 else rng.randint(21, 1500)
        if rng.random() < 0.3:
            p = best + away * off
            if not (ref.bid_qty(p) if is_bid else ref.ask_qty(p)):
                continue  # deletes target existing levels
            q = 0
        else:
            p = best + away * (off - 2)  # sometimes improves the touch by up to 2 ticks
            if p >= best_a if is_bid else p <= best_b:
                p = best
            q = rng.randint(1, 500)
        ref.set_level(Side.BUY if is_bid else Side.SELL, p, q)
        out.append((is_bid, p, q))
    return snap_b, snap_a, out


def run(book_cls: type, snap_b: list[tuple[int, int]], snap_a: list[tuple[int, int]], ups: list[Update]) -> int:
    book = book_cls()
    for p, q in snap_b:
        book.set_bid(p, q)
    for p, q in snap_a:
        book.set_ask(p, q)
    sb, sa, bb, ba = book.set_bid, book.set_ask, book.best_bid, book.best_ask
    for is_bid, p, q in ups:
        if is_bid:
            sb(p, q)
        else:
            sa(p, q)
        bb()
        ba()
    return len(ups)


def measure(
    stream: tuple[list[tuple[int, int]], list[tuple[int, int]], list[Update]], article_cap: int
) -> dict[str, object]:
    snap_b, snap_a, ups = stream
    res: dict[str, dict[str, float]] = {}
    books: list[tuple[str, type, int]] = [
        ("agenthft", L2Book, len(ups)),
        ("sorteddict", SortedDictBook, len(ups)),
        ("article", ArticleBook, article_cap),
    ]
    for name, cls, cap in books:
        sub = ups[:cap]
        secs, n = best_of(3, partial(run, cls, snap_b, snap_a, sub))
        res[name] = {"updates": n, "seconds": round(secs, 4), "updates_per_s": round(n / secs)}
    ours = res["agenthft"]["updates_per_s"]
    return {
        "books": res,
        "ratio_vs_sorteddict": round(ours / res["sorteddict"]["updates_per_s"], 2),
        "ratio_vs_article": round(ours / res["article"]["updates_per_s"], 1),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    emit(
        "book",
        {
            "what": "level updates/s, best bid and best ask read after every update, best of 3",
            "real_usdm_capture": measure(usdm_stream(), article_cap=50_000),
            f"synthetic_{n}": measure(synthetic_stream(n), article_cap=50_000),
        },
    )


if __name__ == "__main__":
    main()
