"""Score the detectors against the simulated market's ground truth.

The simulation runs on the matching engine; the detectors see only what an agent sees (the
engine's L2 deltas and public trades, as the venue publishes them), never order ids or labels.
A detection matches an episode of the same kind, market and side when its time falls inside
the episode's window widened by `tolerance_ms` on both sides. Precision: matched detections /
detections; recall: episodes with a matching detection / episodes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial

import msgspec

from agenthft.book import L2Book
from agenthft.market.sim.participants import Episode, Participant, Simulation
from agenthft.market.sim.scenario import build, load_scenario
from agenthft.matching import Accepted, BookDelta, Cancelled, Fill, Trade
from agenthft.model import OrderType, Side
from agenthft.signals.config import SignalConfig
from agenthft.signals.detectors import RESPONSE, MarketSignals, SignalEvent
from agenthft.signals.queue import MODELS, QueueEstimator

KINDS = tuple(RESPONSE)


class KindScore(msgspec.Struct):
    kind: str
    episodes: int = 0
    detections: int = 0
    true_detections: int = 0
    episodes_found: int = 0
    precision: float | None = None
    recall: float | None = None
    false_alarms_per_hour: float = 0.0


class EvalReport(msgspec.Struct):
    scenario: str
    seeds: list[int]
    seconds_simulated: float
    tolerance_ms: float
    scores: list[KindScore]
    deltas: int = 0
    trades: int = 0
    wall_s: float = 0.0


def simulate(
    scenario_name: str, seed: int, seconds: float, config: SignalConfig
) -> tuple[list[SignalEvent], list[Episode], int, int]:
    """(detections, labelled episodes, level changes, trades) of one seeded run."""
    from agenthft.venue import load_config

    scenario = msgspec.structs.replace(load_scenario(scenario_name), seed=seed)
    sim = build(scenario, load_config().markets, start_ns=0)
    books: dict[str, L2Book] = {}
    signals: dict[str, MarketSignals] = {}
    detections: list[SignalEvent] = []
    counts = [0, 0]

    def feed(_t: int) -> None:
        for ev in sim.engine.drain():
            t = type(ev)
            if t is Trade:
                assert isinstance(ev, Trade)
                sig = signals.get(ev.market)
                if sig is not None:
                    sig.on_trade(ev.price, ev.qty, ev.side, ev.ts_ns)
                    counts[1] += 1
            elif t is BookDelta:
                assert isinstance(ev, BookDelta)
                book = books.get(ev.market)
                if book is None:
                    book = books[ev.market] = L2Book(ev.market)
                    signals[ev.market] = MarketSignals(ev.market, book, config)
                sig = signals[ev.market]
                for side, levels in ((Side.BUY, ev.bids), (Side.SELL, ev.asks)):
                    for price, qty in levels:
                        book.set_level(side, price, qty)
                        sig.on_level(side, price, qty, ev.ts_ns)
                        counts[0] += 1
                detections.extend(sig.drain())

    sim.run(int(seconds * 1e9), on_step=feed)
    return detections, list(sim.labels) + sim.open_episodes(), counts[0], counts[1]


def score(
    detections: list[SignalEvent], episodes: list[Episode], seconds: float, tolerance_ms: float
) -> list[KindScore]:
    tol = int(tolerance_ms * 1e6)
    out = []
    for kind in KINDS:
        eps = [e for e in episodes if e.kind == kind]
        dets = [d for d in detections if d.kind == kind]
        s = KindScore(kind, len(eps), len(dets))

        def hit(d: SignalEvent, e: Episode) -> bool:
            return d.market == e.market and d.side is e.side and e.start_ns - tol <= d.ts_ns <= e.end_ns + tol

        s.true_detections = sum(1 for d in dets if any(hit(d, e) for e in eps))
        s.episodes_found = sum(1 for e in eps if any(hit(d, e) for d in dets))
        s.precision = s.true_detections / len(dets) if dets else None
        s.recall = s.episodes_found / len(eps) if eps else None
        s.false_alarms_per_hour = (len(dets) - s.true_detections) * 3600 / seconds if seconds else 0.0
        out.append(s)
    return out


def evaluate(
    scenario: str = "manipulated",
    seeds: int = 5,
    seconds: float = 60.0,
    tolerance_ms: float = 50.0,
    config: SignalConfig | None = None,
    progress: Callable[[], None] | None = None,
) -> EvalReport:
    """The detectors scored on `seeds` runs of `scenario`; `progress` is called after each run."""
    cfg = config or SignalConfig()
    t0 = time.perf_counter()
    all_det: list[SignalEvent] = []
    all_eps: list[Episode] = []
    deltas = trades = 0
    seed_list = list(range(1, seeds + 1))
    for seed in seed_list:
        det, eps, n_d, n_t = simulate(scenario, seed, seconds, cfg)
        # seeds are separate runs: keep their times apart so that matching stays within a run
        offset = seed * 10**15
        all_det += [msgspec.structs.replace(d, ts_ns=d.ts_ns + offset) for d in det]
        all_eps += [msgspec.structs.replace(e, start_ns=e.start_ns + offset, end_ns=e.end_ns + offset) for e in eps]
        deltas += n_d
        trades += n_t
        if progress is not None:
            progress()
    total = seconds * len(seed_list)
    return EvalReport(
        scenario,
        seed_list,
        total,
        tolerance_ms,
        score(all_det, all_eps, total, tolerance_ms),
        deltas,
        trades,
        time.perf_counter() - t0,
    )


def kinds_seen(detections: list[SignalEvent]) -> dict[str, int]:
    return dict(Counter(d.kind for d in detections))


# --- queue position -------------------------------------------------------------------------


class QueueScore(msgspec.Struct):
    model: str
    samples: int
    mae_lots: float  # mean |estimated - true| quantity ahead, over every step, every live order
    orders: int
    fill_predicted_right: float  # share of orders whose fill / no fill the estimate called


class QueueProbe(Participant):
    """The agent's stand-in: a post-only bid of `qty` lots at the best bid every `interval_ns`,
    cancelled after `life_ns` if not filled."""

    def __init__(self, market: str, qty: int, interval_ns: int = 300_000_000, life_ns: int = 2_000_000_000) -> None:
        super().__init__("agent-probe", market, interval_ns, seed=99)
        self.qty, self.life_ns = qty, life_ns

    def act(self, sim: Simulation, now_ns: int) -> None:
        e = sim.engine
        bid = e.markets[self.market].bids.best_price()
        if bid is None:
            return
        oid = self.next_id("q")
        if e.submit(self.account, oid, self.market, Side.BUY, self.qty, bid, OrderType.POST_ONLY, 0, now_ns):
            sim.at(now_ns + self.life_ns, partial(self._cancel, sim, oid))

    def _cancel(self, sim: Simulation, oid: str, now_ns: int) -> None:
        sim.engine.cancel(self.account, oid, now_ns)


def evaluate_queue(scenario_name: str = "manipulated", seed: int = 1, seconds: float = 60.0) -> list[QueueScore]:
    """Each cancel model's estimate against the matching engine's true queue position of the
    probe's orders, on the same simulated run."""
    from agenthft.venue import load_config

    scenario = msgspec.structs.replace(load_scenario(scenario_name), seed=seed)
    sim = build(scenario, load_config().markets, start_ns=0)
    market = sorted(sim.fair)[0]
    probe = QueueProbe(market, 1)
    sim.add(probe)
    book = L2Book(market)
    estimators = {name: QueueEstimator(name) for name in MODELS}
    voi: dict[str, int] = {}
    err = dict.fromkeys(estimators, 0)
    samples = 0
    right = dict.fromkeys(estimators, 0)
    filled: set[str] = set()
    ended = 0

    def finish(oid: str, was_filled: bool) -> None:
        nonlocal ended
        ended += 1
        for name, est in estimators.items():
            o = est.orders.get(oid)
            predicted = o is not None and o.expects_fill
            right[name] += predicted == was_filled
            est.remove(oid)
        voi.pop(oid, None)

    def feed(_t: int) -> None:
        nonlocal samples
        batch = sim.engine.drain()
        # the public trade print and our own fill come from one match: let the estimate see the
        # print first, so "did it expect this fill" is asked of what it knew at that instant
        for ev in batch:
            if type(ev) is Trade:
                assert isinstance(ev, Trade)
                for est in estimators.values():
                    est.on_trade(ev.price, ev.qty, ev.side, ev.ts_ns)
        for ev in batch:
            t = type(ev)
            if t is Accepted:
                assert isinstance(ev, Accepted)
                if ev.account == probe.account:
                    voi[ev.order_id] = ev.venue_order_id
                    for est in estimators.values():
                        est.place(ev.order_id, ev.side, ev.price, ev.qty, book.qty_at(ev.side, ev.price))
            elif t is Fill:
                assert isinstance(ev, Fill)
                if ev.account == probe.account:
                    filled.add(ev.order_id)
                    if not ev.remaining:
                        finish(ev.order_id, True)
            elif t is Cancelled:
                assert isinstance(ev, Cancelled)
                if ev.account == probe.account and ev.order_id in voi:
                    finish(ev.order_id, ev.order_id in filled)
            elif t is BookDelta:
                assert isinstance(ev, BookDelta) and ev.market == market
                for side, levels in ((Side.BUY, ev.bids), (Side.SELL, ev.asks)):
                    for price, qty in levels:
                        book.set_level(side, price, qty)
                        for est in estimators.values():
                            est.on_level(side, price, qty)
        for oid, v in voi.items():
            true_ahead = sim.engine.queue_position(v)[1]
            samples += 1
            for name, est in estimators.items():
                err[name] += abs((est.ahead(oid) or 0) - true_ahead)

    sim.run(int(seconds * 1e9), on_step=feed)
    return [
        QueueScore(name, samples, err[name] / samples if samples else 0.0, ended, right[name] / ended if ended else 0.0)
        for name in estimators
    ]
