"""Grids over whole files: a far level of legacy orders on an older, finer lot 12,000 lines into
a capture no longer aborts it; with an instrument file's grid, such levels behind the top are
dropped and counted, and one at the top is an error naming the file and line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenthft.backtest.data import DataBacktest
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.feeds import verify_files
from agenthft.market.feeds.grid import StepFinder
from agenthft.market.feeds.probe import CaptureFormatError, load_instruments
from agenthft.market.sources import load_events
from agenthft.strategies.bbo_quoter import BboQuoter
from tests.captures import hftbacktest_lines, write_hftbacktest

SPOT = "hftbacktest/spot/btcusdt_20240808.gz"
FAR_PRICE, FINE_QTY = "5000.00000000", "2292.22972130"  # a lot of 1e-7: finer than any other size in the file


def with_level(src: Path, dst: Path, after: int, price: str, qty: str, side: str = "b") -> tuple[Path, int]:
    """The capture with one more level in the first depth update after line `after` (1-based line
    returned)."""
    lines = list(hftbacktest_lines(src))
    i = next(i for i in range(after, len(lines)) if '@depth"' in lines[i][1] or "@depth@" in lines[i][1])
    ns, body = lines[i]
    msg = json.loads(body)
    msg["data"][side].append([price, qty])
    lines[i] = (ns, json.dumps(msg, separators=(",", ":")))
    return write_hftbacktest(dst, lines), i + 1


@pytest.fixture(scope="module")
def far(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    return with_level(data / SPOT, tmp_path_factory.mktemp("far") / "spot.gz", 12_000, FAR_PRICE, FINE_QTY)


def test_a_far_finer_lot_after_line_5000_refines_the_grid_instead_of_aborting(data: Path, far: tuple[Path, int]):
    path, line = far
    (plain,) = verify_files([data / SPOT])
    (report,) = verify_files([path])
    assert (report.checks_passed, report.checks_failed, report.crossed) == (plain.checks_passed, 0, 0)
    assert plain.checks_passed > 400
    note = report.notes[0]
    assert "tick 0.01 and lot 0.0000001 inferred from every price and size" in note
    assert f"the lot last refined at {path}:{line:,} by '{FINE_QTY}'" in note
    # the real file itself already holds legacy far levels finer than Binance's 0.00001 lot (an ask
    # at 200,000 x 25.426189 at line 1,886): whole-file inference reads them all
    assert "lot 0.000001 inferred" in plain.notes[0]
    first_5000 = StepFinder()
    for _, body in list(hftbacktest_lines(path))[:5000]:
        msg = json.loads(body)
        for key in ("b", "a", "bids", "asks"):
            levels = msg.get("data", msg).get(key)
            if isinstance(levels, list):
                first_5000.update(q for _, q in levels)
    assert first_5000.result()[0] == "0.000001"  # what a 5,000-line probe saw: the level at line 12,000 aborted


def test_the_far_level_replays_and_backtests(far: tuple[Path, int]):
    path, _ = far
    ev = load_events([path])
    inst = ev.markets[0]
    assert inst.lot_size == "0.0000001"
    res = DataBacktest(BboQuoter(inst.market, "0.001"), ev, Constant(0, 1000, 0)).run()
    assert res.summary.orders > 10


def spot_instrument_file(tmp_path: Path) -> dict[str, object]:
    toml = tmp_path / "venue.toml"
    toml.write_text(
        '[[markets]]\nmarket = "BTCUSDT"\nbase = "BTC"\nquote = "USDT"\nkind = "spot"\n'
        'tick_size = "0.01"\nlot_size = "0.00001"\n'
    )
    return dict(load_instruments(toml))


def test_with_the_venues_grid_far_off_grid_levels_are_dropped_and_counted(
    data: Path, far: tuple[Path, int], tmp_path: Path
):
    path, _ = far
    venue = spot_instrument_file(tmp_path)  # Binance's BTCUSDT spot grid: tick 0.01, lot 0.00001
    (plain,) = verify_files([data / SPOT], instruments=venue)  # type: ignore[arg-type]
    (report,) = verify_files([path], instruments=venue)  # type: ignore[arg-type]
    assert (report.checks_failed, report.checks_passed) == (0, plain.checks_passed)
    shared = next(n for n in plain.notes if "off the instrument file's grid" in n)
    assert shared == (
        "BTCUSDT: 3 recorded level(s) off the instrument file's grid, all behind the top of the book, were dropped "
        f"(first: {data / SPOT}:1886: ask 200000.00000000 x 25.42618900)"
    )
    dropped = next(n for n in report.notes if "off the instrument file's grid" in n)
    assert dropped.startswith("BTCUSDT: 4 recorded level(s)")
    ev = load_events([path], venue)  # type: ignore[arg-type]
    assert ev.markets[0].lot_size == "0.00001"
    assert any("off the instrument file's grid" in n for n in ev.meta.notes)


def test_with_the_venues_grid_an_off_grid_level_at_the_top_is_an_error_naming_the_line(data: Path, tmp_path: Path):
    # a bid far above the market (it would be the best bid) with a size off the lot
    path, line = with_level(data / SPOT, tmp_path / "top.gz", 12_000, "99999.00000000", FINE_QTY)
    venue = spot_instrument_file(tmp_path)
    with pytest.raises(CaptureFormatError, match=rf"{path}:{line}: bid 99999.00000000 x {FINE_QTY} is off the grid"):
        verify_files([path], instruments=venue)  # type: ignore[arg-type]
    with pytest.raises(CaptureFormatError, match=rf"{path}:{line}: .* at the top of the book"):
        load_events([path], venue)  # type: ignore[arg-type]


def naive_step(values: list[str]) -> str | None:
    """The reference: every value as a Decimal, the gcd of their scaled integers."""
    import math

    ds = [Decimal(v) for v in values if Decimal(v)]
    if not ds:
        return None
    places = max(max(0, -d.normalize().as_tuple().exponent) for d in ds)  # type: ignore[operator]
    ints = {int(d.scaleb(places)) for d in ds}
    if len(ints) < 2:
        return format(Decimal(1).scaleb(-places), "f")
    g = 0
    for n in ints:
        g = math.gcd(g, abs(n))
    return format(Decimal(g).scaleb(-places).normalize(), "f")


decimal_text = st.builds(
    lambda whole, frac, pad: f"{whole}.{frac}{'0' * pad}" if frac else str(whole),
    st.integers(0, 10**7),
    st.sampled_from(["", "5", "25", "1", "01", "001", "00001", "12345678", "3"]),
    st.integers(0, 4),
)


@given(st.lists(decimal_text, min_size=0, max_size=40))
def test_the_fast_step_equals_the_decimal_reference(values: list[str]):
    finder = StepFinder()
    finder.update(values)
    assert finder.result()[0] == naive_step(values)


@given(st.lists(decimal_text, min_size=1, max_size=40))
def test_every_value_is_a_multiple_of_the_step(values: list[str]):
    finder = StepFinder()
    finder.update(values)
    step = finder.result()[0]
    if step is not None:
        assert all(Decimal(v) % Decimal(step) == 0 for v in values)
