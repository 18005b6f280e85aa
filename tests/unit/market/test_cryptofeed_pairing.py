"""cryptofeed's real file layout: one file per connection, `BINANCE_FUTURES.ws.1.0` (the
WebSocket) beside `BINANCE_FUTURES.http.0.0` (the REST depth snapshots). Files are paired by
content (the market's hosts, the symbols in the snapshot URLs, the times), never by name;
either may be named; the cache is keyed by every file read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agenthft.cli import main
from agenthft.market.cache import EventCache
from agenthft.market.feeds import ReplayReport, detect_format, verify_files
from agenthft.market.feeds.probe import CaptureFormatError
from agenthft.market.sources import load_events
from tests.captures import write_cryptofeed

LINES = 20_000


@pytest.fixture(scope="module")
def folder(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """USD-M and COIN-M sessions recorded side by side, as cryptofeed writes them."""
    d = tmp_path_factory.mktemp("cryptofeed")
    hb = data / "hftbacktest"
    write_cryptofeed(d, [hb / "usdm/btcusdt_20240808.gz"], "BINANCE_FUTURES", "usdm", 1, 0, LINES)
    write_cryptofeed(d, [hb / "cm/btcusd_perp_20240808.gz"], "BINANCE_DELIVERY", "coinm", 3, 2, LINES)
    return d


def checks(reports: list[ReplayReport]) -> dict[str, int]:
    assert all(r.checks_failed == 0 and r.gaps == 0 for r in reports), [r.failures for r in reports]
    return {r.markets[0]: r.checks_passed for r in reports}


def test_the_websocket_capture_finds_its_http_capture_by_content(folder: Path):
    ws, http = folder / "BINANCE_FUTURES.ws.1.0", folder / "BINANCE_FUTURES.http.0.0"
    assert detect_format(ws) == "cryptofeed-binance" and detect_format(http) == "cryptofeed-binance-http"
    reports = verify_files([ws])
    assert list(checks(reports)) == ["BTCUSDT-PERP"] and reports[0].checks_passed > 50
    assert any(f"{http}: 1 REST depth snapshot(s) paired by content" in n for n in reports[0].notes)
    assert not any("BINANCE_DELIVERY.http" in n for n in reports[0].notes)  # another market's snapshots


def test_either_file_may_be_named(folder: Path):
    ws, http = folder / "BINANCE_DELIVERY.ws.3.0", folder / "BINANCE_DELIVERY.http.2.0"
    by_ws, by_http, both = (checks(verify_files(x)) for x in ([ws], [http], [http, ws]))
    assert by_ws == by_http == both and list(by_ws) == ["BTCUSD_PERP"]
    rows = [load_events(x) for x in ([ws], [http])]
    assert rows[0].columns == rows[1].columns and len(rows[0]) > 10_000
    assert rows[0].markets[0].inverse and rows[0].markets[0].contract_size == "100"


def test_names_are_not_what_pairs_them(folder: Path, tmp_path: Path):
    # the COIN-M REST capture named like the USD-M session's, and the USD-M one like nothing at all
    shutil.copy(folder / "BINANCE_FUTURES.ws.1.0", tmp_path / "BINANCE_FUTURES.ws.1.0")
    shutil.copy(folder / "BINANCE_DELIVERY.ws.3.0", tmp_path / "BINANCE_DELIVERY.ws.3.0")
    shutil.copy(folder / "BINANCE_DELIVERY.http.2.0", tmp_path / "BINANCE_FUTURES.http.0.0")
    shutil.copy(folder / "BINANCE_FUTURES.http.0.0", tmp_path / "rest-responses.txt")
    assert checks(verify_files([tmp_path / "BINANCE_FUTURES.ws.1.0"])) == checks(
        verify_files([folder / "BINANCE_FUTURES.ws.1.0"])
    )
    assert checks(verify_files([tmp_path / "BINANCE_FUTURES.http.0.0"])) == checks(
        verify_files([folder / "BINANCE_DELIVERY.ws.3.0"])
    )


def test_a_rotated_websocket_file_continues_the_first(folder: Path, tmp_path: Path):
    lines = (folder / "BINANCE_FUTURES.ws.1.0").read_text().splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "BINANCE_FUTURES.ws.1.0").write_text("".join(lines[:half]))
    (tmp_path / "BINANCE_FUTURES.ws.1.1").write_text("".join(lines[half:]))  # no URL line: a rotated part
    shutil.copy(folder / "BINANCE_FUTURES.http.0.0", tmp_path / "BINANCE_FUTURES.http.0.0")
    whole = checks(verify_files([folder / "BINANCE_FUTURES.ws.1.0"]))
    parts = [tmp_path / "BINANCE_FUTURES.ws.1.1", tmp_path / "BINANCE_FUTURES.ws.1.0"]
    assert checks(verify_files(parts)) == whole


def test_the_cache_is_keyed_by_the_http_capture_too(folder: Path, tmp_path: Path):
    d = tmp_path / "session"
    shutil.copytree(folder, d)
    cache = EventCache(tmp_path / "cache")
    first = load_events([d / "BINANCE_FUTURES.ws.1.0"], cache=cache)
    load_events([d / "BINANCE_FUTURES.ws.1.0"], cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    http = d / "BINANCE_FUTURES.http.0.0"
    http.write_text(http.read_text() + "\n")  # the file read beside the named one changed
    again = load_events([d / "BINANCE_FUTURES.ws.1.0"], cache=cache)
    assert (cache.hits, cache.misses) == (1, 2) and again.columns == first.columns


def test_a_websocket_capture_without_its_snapshots_is_an_error_not_an_empty_backtest(
    folder: Path, tmp_path: Path, capsys
):
    ws = shutil.copy(folder / "BINANCE_FUTURES.ws.1.0", tmp_path / "BINANCE_FUTURES.ws.1.0")
    with pytest.raises(CaptureFormatError, match="depth updates but no REST depth snapshot to start the book"):
        load_events([ws])
    assert main(["backtest", "bbo-quoter", "--data", str(ws), "--no-cache"]) == 2
    assert ".http. capture of the same session" in capsys.readouterr().err


def test_an_http_capture_with_no_websocket_capture_beside_it_says_so(folder: Path, tmp_path: Path, capsys):
    http = shutil.copy(folder / "BINANCE_FUTURES.http.0.0", tmp_path / "BINANCE_FUTURES.http.0.0")
    with pytest.raises(CaptureFormatError, match=r"REST depth snapshots .* name the \.ws\. file too"):
        verify_files([http])
    assert main(["replay", str(http)]) == 2
    assert "no cryptofeed WebSocket capture of the same Binance market" in capsys.readouterr().err
