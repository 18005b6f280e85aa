"""Statistical tests of the simulated market (seeded, so each is deterministic)."""

import math

import msgspec

from agenthft.book import L2Book
from agenthft.market.sim import FairValue, Iceberg, MarketMaker, NoiseTaker, Simulation, Spoofer
from agenthft.matching import Accepted, BookDelta, Cancelled
from agenthft.model import Instrument, InstrumentKind

P = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")
S = 1_000_000_000


def sim(seed: int = 7) -> Simulation:
    fv = FairValue(600000, vol_ticks=20, jump_rate=0.2, jump_ticks=30, seed=seed)
    return Simulation(
        [P],
        {"BTC-PERP": fv},
        [
            MarketMaker("mm1", "BTC-PERP", 2, 10, seed=seed + 1),
            MarketMaker("mm2", "BTC-PERP", 3, 20, seed=seed + 2),
            NoiseTaker("nz", "BTC-PERP", 8, seed=seed + 3),
            Spoofer("sp", "BTC-PERP", 500, seed=seed + 4),
            Iceberg("ice", "BTC-PERP", 200, 10, seed=seed + 5),
        ],
    )


def replay_tops(s: Simulation) -> list[tuple[int, int | None, int | None]]:
    """(ts, best bid, best ask) after every book delta, rebuilt from the event stream."""
    book = L2Book("BTC-PERP")
    book.load_snapshot([], [], 0)
    out = []
    for ev in s.events:
        if isinstance(ev, BookDelta):
            book.apply(ev.bids, ev.asks, ev.book_seq)
            out.append((ev.ts_ns, book.best_bid(), book.best_ask()))
    return out


def test_spread_is_positive_whenever_both_sides_are_quoted():
    s = sim()
    s.run(10 * S)
    tops = replay_tops(s)
    two_sided = [(b, a) for _, b, a in tops if b is not None and a is not None]
    assert len(two_sided) > 1000
    assert all(a > b for b, a in two_sided), "the book never crosses"
    # the book as it stands after everything at each instant (not mid-way through a re-quote)
    by_time = {t: (b, a) for t, b, a in tops}
    both = sum(1 for b, a in by_time.values() if b is not None and a is not None)
    # makers' post-only re-quotes are rejected when a jump makes them cross a stale quote,
    # so a side can be empty until their next action
    assert both / len(by_time) > 0.95, "almost always two-sided"


def test_the_mid_follows_the_fair_value():
    s = sim()
    samples = []
    for k in range(1, 101):
        s.run(k * S // 10)
        bid, ask = s.engine.markets["BTC-PERP"].bids.best_price(), s.engine.markets["BTC-PERP"].asks.best_price()
        if bid is not None and ask is not None:
            samples.append(((bid + ask) / 2, s.fair["BTC-PERP"].value))
    assert len(samples) >= 90
    deviation = sorted(abs(m - f) for m, f in samples)
    assert deviation[len(deviation) // 2] <= 5, "median |mid - fair| within 5 ticks"
    moved = max(f for _, f in samples) - min(f for _, f in samples)
    assert moved > 20, "the fair value actually moved, so following it means something"


def test_same_seed_same_events_byte_for_byte():
    a, b = sim(3), sim(3)
    a.run(2 * S)
    b.run(2 * S)
    assert msgspec.json.encode(a.events) == msgspec.json.encode(b.events)
    c = sim(4)
    c.run(2 * S)
    assert msgspec.json.encode(c.events) != msgspec.json.encode(a.events)


def test_each_spoof_label_matches_real_order_events_in_the_engine_stream():
    s = sim()
    s.run(10 * S)
    spoofs = [ep for ep in s.labels if ep.kind == "spoof"]
    assert len(spoofs) >= 20
    accepted = {(e.account, e.order_id): e for e in s.events if isinstance(e, Accepted)}
    cancelled = {(e.account, e.order_id): e for e in s.events if isinstance(e, Cancelled)}
    for ep in spoofs:
        (oid,) = ep.order_ids
        acc, can = accepted[(ep.account, oid)], cancelled.get((ep.account, oid))
        assert acc.ts_ns == ep.start_ns and acc.side is ep.side
        assert acc.qty == 500, "large relative to the makers' 10-20 lots"
        if can is not None:  # it may have been filled before the cancel
            assert can.ts_ns == ep.end_ns and 10_000_000 <= can.ts_ns - acc.ts_ns <= 50_000_000


def manipulated(seed: int = 11) -> Simulation:
    from agenthft.market.sim import Absorber, CascadeBeforeDrop, InformedTrader

    fv = FairValue(600000, vol_ticks=10, seed=seed)
    return Simulation(
        [P],
        {"BTC-PERP": fv},
        [
            MarketMaker("mm1", "BTC-PERP", 2, 10, seed=seed + 1),
            MarketMaker("mm2", "BTC-PERP", 3, 20, seed=seed + 2),
            NoiseTaker("nz", "BTC-PERP", 8, seed=seed + 3),
            InformedTrader("inf", "BTC-PERP", edge=3, size=5, seed=seed + 4),
            CascadeBeforeDrop("cc", "BTC-PERP", n=5, size=30, drop=40, seed=seed + 5),
            Absorber("ab", "BTC-PERP", size=2000, seed=seed + 6),
            Spoofer("sp", "BTC-PERP", 500, seed=seed + 7),
            Iceberg("ice", "BTC-PERP", 60, 5, seed=seed + 8),
        ],
    )


def test_every_label_kind_appears_and_matches_engine_events(tmp_path):
    from agenthft.market.sim import Episode

    s = manipulated()
    s.run(20 * S)
    kinds = {ep.kind for ep in s.labels}
    assert kinds == {"spoof", "iceberg", "cancel_cascade", "absorption"}
    accepted = {(e.account, e.order_id): e for e in s.events if isinstance(e, Accepted)}
    cancels = {(e.account, e.order_id): e for e in s.events if isinstance(e, Cancelled)}
    for ep in s.labels:
        for oid in ep.order_ids:
            assert (ep.account, oid) in accepted, ep
        if ep.kind == "cancel_cascade":
            times = sorted(cancels[(ep.account, oid)].ts_ns for oid in ep.order_ids if (ep.account, oid) in cancels)
            assert times and times[-1] < ep.end_ns, "the cancels come before the drop"
            assert ep.end_ns in {t for t, size in s.fair["BTC-PERP"].jumps if size < 0}, "a drop follows"
        if ep.kind == "absorption":
            assert ep.end_ns - ep.start_ns >= 500_000_000 and accepted[(ep.account, ep.order_ids[0])].qty == 2000
        if ep.kind == "iceberg":
            assert accepted[(ep.account, ep.order_ids[0])].display_qty == 5
    n = s.write_labels(str(tmp_path / "labels.jsonl"))
    lines = (tmp_path / "labels.jsonl").read_bytes().splitlines()
    assert n == len(lines) == len(s.labels)
    assert msgspec.json.decode(lines[0], type=Episode) == s.labels[0]


def test_the_informed_trader_trades_in_a_market_with_drops():
    s = manipulated()
    s.run(20 * S)
    drops = [t for t, size in s.fair["BTC-PERP"].jumps if size < 0]
    assert drops
    informed = [e for e in s.events if getattr(e, "account", None) == "inf" and type(e).__name__ == "Fill"]
    assert informed, "the informed trader trades"


def test_lead_lag_shows_as_a_cross_correlation_peak_at_the_configured_lag():
    spot = Instrument("BTC-USDC", "BTC", "USDC", InstrumentKind.SPOT, tick_size="0.1", lot_size="0.001")
    fv = FairValue(600000, vol_ticks=60, seed=21)  # one underlying, two markets
    lag_ms = 10
    s = Simulation(
        [spot, P],
        {"BTC-USDC": fv, "BTC-PERP": fv},
        [
            MarketMaker("spot-mm", "BTC-USDC", 1, 10, interval_ns=500_000, seed=1),
            MarketMaker("perp-mm", "BTC-PERP", 1, 10, interval_ns=500_000, seed=2, lag_ns=lag_ms * 1_000_000),
            NoiseTaker("nz1", "BTC-USDC", 3, seed=3),
            NoiseTaker("nz2", "BTC-PERP", 3, seed=4),
        ],
    )
    mids: dict[str, list[float]] = {"BTC-USDC": [], "BTC-PERP": []}
    for ms in range(1, 4001):
        s.run(ms * 1_000_000, keep_events=False)
        for m in mids:
            book = s.engine.markets[m]
            b, a = book.bids.best_price(), book.asks.best_price()
            mids[m].append((b + a) / 2 if b is not None and a is not None else mids[m][-1] if mids[m] else 600000)
    d_spot = [y - x for x, y in zip(mids["BTC-USDC"], mids["BTC-USDC"][1:], strict=False)]
    d_perp = [y - x for x, y in zip(mids["BTC-PERP"], mids["BTC-PERP"][1:], strict=False)]

    def corr(k: int) -> float:
        xs, ys = d_spot[: len(d_spot) - k], d_perp[k:]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        vx = math.sqrt(sum((x - mx) ** 2 for x in xs))
        vy = math.sqrt(sum((y - my) ** 2 for y in ys))
        return cov / (vx * vy)

    scores = {k: corr(k) for k in range(0, 31)}
    peak = max(scores, key=lambda k: scores[k])
    assert abs(peak - lag_ms) <= 2, f"peak at {peak} ms, configured {lag_ms} ms: {scores}"
    assert scores[peak] > 3 * abs(scores[0]), "the lagged relation dominates the simultaneous one"


def test_a_run_cut_into_single_actions_gives_the_same_events():
    """The live driver runs one action at a time (to serve clients between them once its wall
    budget is spent): the same actions in the same order as one run, the count returned, and
    the clock left at the last action run, not at the end of the span."""
    whole, cut = sim(), sim()
    whole.run(2 * S)
    steps = []
    while n := cut.run(2 * S, max_actions=1):
        steps.append(n)
        assert cut.now_ns <= 2 * S
    assert steps and set(steps) == {1}
    assert cut.now_ns == 2 * S  # the last call found nothing due and moved to the end
    enc = msgspec.msgpack.Encoder()
    assert enc.encode(cut.events) == enc.encode(whole.events)
    assert whole.run(3 * S, max_actions=0) > 0  # 0: no limit


def test_max_actions_stops_with_the_rest_still_due():
    s = sim()
    assert s.run(S, max_actions=3) == 3
    due = s.next_event_ns()
    assert due is not None and due <= S
    assert s.now_ns < S
