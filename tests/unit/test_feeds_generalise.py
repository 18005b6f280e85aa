"""Captures of other symbols, grids and folders than the shared BTC files: the market, its
sequencing rules and its grid come from the data (or an instrument file), never from names."""

from __future__ import annotations

import gzip
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from agenthft.market.events import CaptureFormatError
from agenthft.market.feeds import binance, verify_files
from agenthft.market.feeds.binance import probe_binance
from agenthft.market.feeds.grid import step_of
from agenthft.market.feeds.probe import load_instruments


def _shift(text: str, places: int) -> str:
    """A decimal string moved `places` digits (exact): 61840.1 -> 6184.01 for -1."""
    return format(Decimal(text).scaleb(places).normalize(), "f")


def rescaled_capture(src: Path, dst: Path, symbol: str, price_places: int, qty_places: int) -> Path:
    """The capture as another symbol whose prices and quantities sit on other grids."""
    old = None
    out = []
    with gzip.open(src, "rb") as f:
        for line in f:
            ts, _, body = line.partition(b" ")
            msg = json.loads(body)
            data = msg.get("data", msg)
            if old is None and "stream" in msg:
                old = msg["stream"].split("@")[0]
            for key in ("b", "a", "bids", "asks"):
                if isinstance(data.get(key), list) and not msg.get("stream", "").endswith("@bookTicker"):
                    data[key] = [[_shift(p, price_places), _shift(q, qty_places)] for p, q in data[key]]
            for key, places in (("p", price_places), ("q", qty_places)):
                if isinstance(data.get(key), str):
                    data[key] = _shift(data[key], places)
            if msg.get("stream", "").endswith("@bookTicker"):
                for key, places in (("b", price_places), ("B", qty_places), ("a", price_places), ("A", qty_places)):
                    data[key] = _shift(data[key], places)
            if "s" in data:
                data["s"] = symbol
            if "stream" in msg:
                msg["stream"] = re.sub(r"^[a-z_]+", symbol.lower(), msg["stream"])
            out.append(ts + b" " + json.dumps(msg, separators=(",", ":")).encode() + b"\n")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(dst, "wb") as f:
        f.writelines(out)
    return dst


def test_another_symbol_on_another_grid_replays_with_every_check_and_its_own_name(data: Path, tmp_path: Path):
    src = data / "hftbacktest/usdm/btcusdt_20240808.gz"
    eth = rescaled_capture(src, tmp_path / "x" / "day1.gz", "ETHUSDT", -1, 1)  # tick 0.01, lot 0.01
    (report,) = verify_files([eth])
    assert report.markets == ["ETHUSDT-PERP"]
    assert (report.checks_passed, report.checks_failed, report.gaps) == (629, 0, 0)
    assert any("tick 0.01 and lot 0.01 inferred" in n for n in report.notes), report.notes


def test_futures_rules_come_from_the_messages_not_the_folder(data: Path, tmp_path: Path):
    src = data / "hftbacktest/usdm/btcusdt_20240808.gz"
    moved = tmp_path / "spot" / "whatever.gz"  # a folder named like spot: still futures sequencing
    moved.parent.mkdir()
    moved.write_bytes(src.read_bytes())
    info = probe_binance([moved])
    assert info.futures and info.instrument.market == "BTCUSDT-PERP"
    (report,) = verify_files([moved])
    assert report.checks_passed == 629 and report.checks_failed == 0


def test_files_of_one_market_chain_by_time_whatever_order_they_are_given(data: Path):
    spot = data / "hftbacktest/spot"
    reports = verify_files([spot / "btcusdt_20240809.gz", spot / "btcusdt_20240808.gz"])
    assert [(r.checks_passed, r.checks_failed) for r in reports] == [(1072, 0)]


def test_an_instrument_file_overrides_the_inference(data: Path, tmp_path: Path):
    info_file = tmp_path / "exchangeInfo.json"
    info_file.write_text(
        json.dumps(
            {
                "symbols": [
                    {
                        "symbol": "BTCUSDT",
                        "baseAsset": "BTC",
                        "quoteAsset": "USDT",
                        "contractType": "PERPETUAL",
                        "filters": [
                            {"filterType": "PRICE_FILTER", "tickSize": "0.10"},
                            {"filterType": "LOT_SIZE", "stepSize": "0.001"},
                        ],
                    }
                ]
            }
        )
    )
    instruments = load_instruments(info_file)
    (report,) = verify_files([data / "hftbacktest/usdm/btcusdt_20240808.gz"], instruments=instruments)
    assert report.checks_passed == 629 and "instrument file" in report.notes[0]


def test_a_price_off_the_given_grid_names_the_file_line_and_grid(data: Path, tmp_path: Path):
    toml = tmp_path / "inst.toml"
    toml.write_text(
        '[[markets]]\nmarket = "BTCUSDT"\nbase = "BTC"\nquote = "USDT"\nkind = "perp"\n'
        'tick_size = "1"\nlot_size = "0.001"\n'
    )
    with pytest.raises(CaptureFormatError, match=r"btcusdt_20240808.gz:\d+: .*tick 1"):
        binance.verify([data / "hftbacktest/usdm/btcusdt_20240808.gz"], instruments=load_instruments(toml))


@pytest.mark.parametrize(
    ("values", "step"),
    [
        (["61837.63000000", "61837.60000000", "0.00000000"], "0.01"),
        (["1.5", "3", "4.5"], "1.5"),
        (["100", "300"], "100"),
        (["0.00100000", "0.00020000"], "0.0002"),
    ],
)
def test_step_of_is_the_largest_shared_step(values, step):
    assert step_of(values) == step
