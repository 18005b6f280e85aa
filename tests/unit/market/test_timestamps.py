"""Local timestamps in whatever unit the recorder chose, read per file from the data: a capture
stamped in µs (hftbacktest's older raw format) is 345 s long, not 0.34 s; a unit the data cannot
tell is an error naming the file and `--ts-unit`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenthft.backtest.data import DataBacktest, DataOptions
from agenthft.cli import main
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.cache import EventCache
from agenthft.market.feeds import verify_files
from agenthft.market.feeds.probe import CaptureFormatError
from agenthft.market.feeds.timestamps import SCALE, UnitFinder, by_magnitude, to_ns
from agenthft.market.sources import load_events
from agenthft.strategies.bbo_quoter import BboQuoter
from tests.captures import hftbacktest_lines, write_hftbacktest

USDM = "hftbacktest/usdm/btcusdt_20240808.gz"
SPAN_S = 344.8  # the shared USD-M capture's first to last local time


@pytest.fixture(scope="module")
def usdm_us(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared USD-M capture as the collector's older format writes it: local times in µs."""
    return write_hftbacktest(tmp_path_factory.mktemp("us") / "capture.gz", hftbacktest_lines(data / USDM), "us")


def test_a_capture_stamped_in_microseconds_replays_with_the_unit_in_its_notes(usdm_us: Path):
    (report,) = verify_files([usdm_us])
    assert (report.checks_passed, report.checks_failed) == (629, 0)
    unit_note = next(n for n in report.notes if "local timestamps" in n)
    assert f"{usdm_us}: local timestamps in µs since the epoch" in unit_note
    assert "by magnitude and by the exchange's times" in unit_note
    assert f"{SPAN_S} s recorded" in " ".join(report.notes)


def test_a_backtest_on_a_microsecond_capture_reports_the_recorded_span(
    usdm_us: Path, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.setenv("AGENTHFT_CACHE", str(tmp_path))  # decoded here once; the command reads these rows
    events = load_events([usdm_us], cache=EventCache(tmp_path))
    bt = DataBacktest(BboQuoter("BTC-PERP"), events, Constant(0, 1000, 0))
    assert (bt.end_ns - bt.start_ns) / 1e9 == pytest.approx(SPAN_S, abs=0.1)
    assert main(["backtest", "bbo-quoter", "--data", str(usdm_us)]) == 0
    assert f"{SPAN_S - 0.1:.1f} s recorded" in capsys.readouterr().out  # ts_local of the first and last row


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_every_unit_since_the_epoch_is_read_from_the_data(data: Path, tmp_path: Path, unit: str):
    cap = write_hftbacktest(tmp_path / "c.gz", hftbacktest_lines(data / USDM, 3000), unit)
    ev = load_events([cap])
    ts = ev.columns["ts_local"]
    assert 2 < (ts[-1] - ts[0]) / 1e9 < 40  # about 21 s in any unit (1 s resolution for `s`)
    assert any(f"local timestamps in {'µs' if unit == 'us' else unit} since the epoch" in n for n in ev.meta.notes)


def test_times_not_since_the_epoch_are_an_error_naming_the_file_and_the_flag(data: Path, tmp_path: Path):
    lines = [(ns - 1_723_161_000_000_000_000, body) for ns, body in hftbacktest_lines(data / USDM, 3000)]
    cap = write_hftbacktest(tmp_path / "monotonic.gz", lines, "ns")  # a clock since boot: ~255 s
    with pytest.raises(CaptureFormatError, match=rf"{cap}: cannot tell the unit of the local timestamps") as e:
        load_events([cap])
    assert "no exchange times agree with any; pass --ts-unit {s,ms,us,ns}" in str(e.value)
    ev = load_events([cap], ts_unit="ns")  # the user says: ns (since whatever)
    assert any("given by --ts-unit" in n for n in ev.meta.notes)
    assert main(["replay", str(cap)]) == 2
    assert main(["replay", str(cap), "--ts-unit", "ns"]) == 0


def test_the_cli_and_the_cache_take_the_unit(data: Path, tmp_path: Path, capsys):
    cap = write_hftbacktest(tmp_path / "c.gz", hftbacktest_lines(data / USDM, 3000), "us")
    opts = DataOptions(ts_unit="ns", cache_dir=str(tmp_path / "cache"))
    given = opts.load([str(cap)])
    assert any("in ns (given by --ts-unit; the data suggests µs)" in n for n in given.meta.notes)
    again = DataOptions(cache_dir=str(tmp_path / "cache")).load([str(cap)])  # another key: read from the data
    assert given.columns["ts_local"][0] * 1000 == again.columns["ts_local"][0]
    with pytest.raises(CaptureFormatError, match=r"with --ts-unit ms, the local timestamps .* would overflow"):
        load_events([cap], ts_unit="ms")
    with pytest.raises(SystemExit):
        main(["replay", str(cap), "--ts-unit", "bogus"])
    assert "--ts-unit: invalid choice: 'bogus'" in capsys.readouterr().err


def test_cryptofeed_float_seconds_are_read_as_seconds(data: Path):
    (report,) = verify_files([data / "cryptofeed/OKX.ws.1.0"])
    assert any("local timestamps in s since the epoch (by magnitude" in n for n in report.notes)


@given(st.integers(946_684_800 * 10**9, 4_102_444_799 * 10**9), st.sampled_from(list(SCALE)))
def test_an_epoch_time_in_any_unit_names_its_unit_by_magnitude(ns: int, unit: str):
    value = ns // SCALE[unit]
    if value * SCALE[unit] / 1e9 >= 946_684_800:  # the window's first second, truncated, is still inside
        assert by_magnitude(value) == unit


@given(st.integers(0, 10**12), st.integers(0, 10**9 - 1), st.sampled_from(list(SCALE)))
def test_decimal_text_converts_to_ns_exactly(whole: int, frac: int, unit: str):
    text = f"{whole}.{frac:09d}"
    scale = SCALE[unit]
    digits = len(str(scale)) - 1
    assert to_ns(text, scale) == whole * scale + (int(f"{frac:09d}"[:digits]) if digits else 0)
    assert to_ns(str(whole), scale) == whole * scale


def test_magnitude_and_exchange_times_must_agree():
    finder = UnitFinder()
    for i in range(64):  # µs by magnitude, but the exchange's ms times 2 days away
        finder.add(1_723_161_256_000_000 + i, (1_723_161_256_000 + 2 * 86_400_000) * 1_000_000)
    with pytest.raises(CaptureFormatError, match=r"look like µs by magnitude but are -172,800 s from the exchange"):
        finder.decide("f.gz", None)
    assert finder.decide("f.gz", "us")[0] == "us"


def test_json_report_carries_the_notes(usdm_us: Path, capsys):
    assert main(["replay", str(usdm_us), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert any("µs" in n for n in report["notes"])


def test_venue_replay_takes_the_unit_too(data: Path, tmp_path: Path, capsys):
    assert main(["venue", "--ts-unit", "us"]) == 2
    assert "--ts-unit needs --replay" in capsys.readouterr().err
    lines = [(ns - 1_723_161_000_000_000_000, body) for ns, body in hftbacktest_lines(data / USDM, 3000)]
    cap = write_hftbacktest(tmp_path / "monotonic.gz", lines, "ns")
    env = {"AGENTHFT_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "agenthft.cli", "venue", "--replay", str(cap), "--speed", "0"]
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, **env}, check=False)
    assert refused.returncode == 2 and "pass --ts-unit" in refused.stderr
    proc = subprocess.Popen([*argv, "--ts-unit", "ns"], stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        assert proc.stdout is not None
        replaying = ""
        while not replaying:
            line = proc.stdout.readline()
            assert line, "the venue stopped before replaying"
            replaying = line if "recorded rows" in line else ""
        assert "recorded rows of 1 market(s)" in replaying
    finally:
        proc.terminate()
        proc.wait(30)


def test_tardis_microseconds_are_checked_and_other_units_need_the_flag(data: Path, tmp_path: Path):
    src = data / "nautilus_trader/tardis/bitmex_trades_XBTUSD.csv"
    ev = load_events([src])
    assert any("timestamps in µs (Tardis's format; the magnitude agrees)" in n for n in ev.meta.notes)
    header, *body = src.read_text().splitlines()
    ms = tmp_path / "trades-ms.csv"  # the same rows with ms times: not Tardis's µs
    cols = header.split(",")
    t, lt = cols.index("timestamp"), cols.index("local_timestamp")
    rows_ms = []
    for line in body:
        f = line.split(",")
        f[t], f[lt] = str(int(f[t]) // 1000), str(int(f[lt]) // 1000)
        rows_ms.append(",".join(f))
    ms.write_text("\n".join([header, *rows_ms]) + "\n")
    with pytest.raises(CaptureFormatError, match=rf"{ms}: Tardis writes µs, but .* pass --ts-unit"):
        load_events([ms])
    assert load_events([ms], ts_unit="ms").columns["ts_local"] == [
        x // 1_000_000 * 1_000_000 for x in ev.columns["ts_local"]
    ]
