"""The packaged scenarios load, build and run; cross-venue produces NBBO crosses."""

import pytest

from agenthft.market.sim import FairValue
from agenthft.market.sim.scenario import build, load_scenario
from agenthft.matching import MatchingEngine
from agenthft.model import Instrument, InstrumentKind

PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")
PERP_B = Instrument(
    "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001", taker_fee="0.0004"
)
SPOT = Instrument("BTC-USDC", "BTC", "USDC", InstrumentKind.SPOT, tick_size="0.1", lot_size="0.001")
S = 1_000_000_000


@pytest.mark.parametrize("name", ["calm", "lead-lag", "manipulated", "crash", "cross-venue"])
def test_packaged_scenarios_load_build_and_run(name):
    sc = load_scenario(name)
    sim = build(sc, [PERP, PERP_B, SPOT])
    sim.run(2 * S)
    assert sim.events and sc.description
    for market in sim.engine.markets:
        bids, asks = sim.engine.l2(market, 1)
        assert not (bids and asks and bids[0][0] >= asks[0][0])


def test_unknown_scenario_and_bad_fields_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no scenario"):
        load_scenario("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nunderlyings = []\nparticipants = []\nspeed = 3\n')
    with pytest.raises(ValueError, match="speed"):
        load_scenario(str(bad))


def test_crash_scenario_gaps_down_after_cancel_cascades():
    sim = build(load_scenario("crash"), [PERP])
    sim.run(6 * S)
    cascades = [ep for ep in sim.labels if ep.kind == "cancel_cascade"]
    drops = [size for _, size in sim.fair["BTC-PERP"].jumps if size <= -120]
    assert len(cascades) >= 3 and len(drops) >= 3


def test_cross_venue_books_cross_each_other_but_never_themselves():
    sc = load_scenario("cross-venue")
    shared: dict[str, FairValue] = {}
    a = build(sc, [PERP], MatchingEngine([PERP]), {"BTC-PERP"}, shared)
    b = build(sc, [PERP_B], MatchingEngine([PERP_B]), {"BTCUSDT"}, shared)
    assert a.fair["BTC-PERP"] is b.fair["BTCUSDT"], "one underlying"
    crosses = 0
    for ms in range(1, 5001):
        a.run(ms * 1_000_000, keep_events=False)
        b.run(ms * 1_000_000, keep_events=False)
        (ab, aa), (bb, ba) = a.engine.l2("BTC-PERP", 1), b.engine.l2("BTCUSDT", 1)
        for bids, asks in ((ab, aa), (bb, ba)):
            assert not (bids and asks and bids[0][0] >= asks[0][0])
        if (ab and ba and ab[0][0] > ba[0][0]) or (bb and aa and bb[0][0] > aa[0][0]):
            crosses += 1
    assert crosses > 10, "NBBO crosses appear between the venues"


def test_venues_sharing_an_underlying_quote_one_price_whatever_their_first_market_tick():
    """The desk: venue A's first market is a 0.01 spot, venue B's only market a 0.1 perp. The
    shared fair value walks in A's ticks; B must read it in those, not in its own (a bug once
    put B's price 10x off)."""
    spot = Instrument("BTC-USDC", "BTC", "USDC", InstrumentKind.SPOT, tick_size="0.01", lot_size="0.00001")
    sc = load_scenario("desk")
    shared: dict[str, FairValue] = {}
    a = build(sc, [spot, PERP], MatchingEngine([spot, PERP]), {"BTC-USDC", "BTC-PERP"}, shared)
    b = build(sc, [PERP_B], MatchingEngine([PERP_B]), {"BTCUSDT"}, shared)
    for ms in range(1, 2001):
        a.run(ms * 1_000_000, keep_events=False)
        b.run(ms * 1_000_000, keep_events=False)
    mids = {}
    for sim, market, inst in ((a, "BTC-USDC", spot), (a, "BTC-PERP", PERP), (b, "BTCUSDT", PERP_B)):
        (bids, asks) = sim.engine.l2(market, 1)
        mids[market] = float(inst.ticks_to_price((bids[0][0] + asks[0][0]) // 2))
    assert max(mids.values()) / min(mids.values()) < 1.002, mids  # within 0.2 %: one price
