"""One registry of capture formats: detection by content (gzip, zstd or plain), grouping,
verification and rows for every format, the docs table generated from it; OKX, Kraken and
LOBSTER backtest like the others; instrument files carry contracts."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from agenthft.backtest.data import DataBacktest
from agenthft.cli import main
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import TRADE
from agenthft.market.feeds import detect_format, discover, verify_files
from agenthft.market.feeds.probe import CaptureFormatError, load_instruments
from agenthft.market.feeds.registry import FORMATS, MAIN_FORMATS, REGISTRY, ROW_FORMATS, formats_table
from agenthft.market.sources import load_events
from agenthft.strategies.bbo_quoter import BboQuoter
from tests import rows

ROOT = Path(__file__).resolve().parents[3]
USDM = "hftbacktest/usdm/btcusdt_20240808.gz"


def test_the_docs_table_is_the_registry():
    doc = (ROOT / "docs" / "feeds.md").read_text()
    inside = doc.split("<!-- formats:begin -->\n")[1].split("<!-- formats:end -->")[0]
    assert inside == formats_table()
    assert len(REGISTRY) == len(FORMATS) and set(MAIN_FORMATS) <= set(FORMATS)
    assert {"okx", "kraken", "lobster", "binance", "databento", "tardis", "hyperliquid"} <= set(ROW_FORMATS)


def test_market_does_not_import_venue():
    for path in (ROOT / "src/agenthft/market").rglob("*.py"):
        assert not re.search(r"agenthft\.venue\b", path.read_text()), path


def test_an_uncompressed_and_a_zstd_capture_read_like_the_gzip_one(data: Path, tmp_path: Path):
    """The same lines (the shared capture's first 15,000: its snapshot and over a hundred bookTicker
    checks; the whole day only costs time here) as gzip, zstd and plain text."""
    raw = b"".join(gzip.decompress((data / USDM).read_bytes()).splitlines(keepends=True)[:15_000])
    gz = tmp_path / "capture.gz"
    gz.write_bytes(gzip.compress(raw))
    plain = tmp_path / "plain.log"
    plain.write_bytes(raw)
    zst = tmp_path / "capture.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(raw))
    checks = set()
    for p in (gz, plain, zst):
        assert detect_format(p) == "binance"
        (report,) = verify_files([p])
        assert report.checks_failed == 0
        checks.add(report.checks_passed)
    assert len(checks) == 1 and checks.pop() >= 100
    assert load_events([plain]).columns == load_events([zst]).columns == load_events([gz]).columns


def test_every_shared_capture_is_found_and_grouped_by_content(data: Path):
    found = discover(data)
    by_fmt: dict[str, list[list[str]]] = {}
    for fmt, files in found:
        by_fmt.setdefault(fmt, []).append(sorted(f.name for f in files))
    assert by_fmt["lobster"] == [
        ["AAPL_2012-06-21_34200000_57600000_message_10.csv", "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"]
    ]
    assert sorted(len(g) for g in by_fmt["binance"]) == [1, 2, 2]  # usdm; spot and cm chained over two days
    assert {"okx", "kraken", "tardis"} <= set(by_fmt)


@pytest.mark.parametrize(
    ("files", "market"),
    [
        (["cryptofeed/OKX.ws.1.0"], "BTC-USDT"),
        (["cryptofeed/KRAKEN.ws.50.0", "cryptofeed/KRAKEN.ws.48.0"], "XMR/USD"),
        (["lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv"], "AAPL"),
    ],
)
def test_okx_kraken_and_lobster_backtest_like_the_others(data: Path, files: list[str], market: str):
    ev = load_events([data / f for f in files]).select([market])  # (Kraken's ADA/XBT grid is finer than cash)
    _, after, crossed = rows.rebuild(ev)
    assert crossed == 0 and len(after) > 50
    res = DataBacktest(BboQuoter(market, ev.markets[0].lot_size), ev, Constant(0, 1000, 0)).run()
    assert res.summary.orders >= 2 and res.summary.events >= len(ev)


def test_okx_rows_rebuild_the_books_the_checksums_verify(data: Path):
    ev = load_events([data / "cryptofeed/OKX.ws.1.0"])
    names = {m.market: m for m in ev.markets}
    assert names["BTC-USD-220527"].inverse and names["BTC-USD-220527"].contract_size == "100"
    assert names["UNI-USD-SWAP"].contract_size == "10" and names["BTC-USDT"].kind.value == "spot"
    assert any("UNI-USD-SWAP: perpetual swap, inverse, 10 USD per contract" in n for n in ev.meta.notes)
    assert ev.columns["kind"].count(TRADE) == 69 + 4 + 1
    (report,) = verify_files([data / "cryptofeed/OKX.ws.1.0"])
    assert report.checks_passed == 290  # the same grids verify every checksum


def test_kraken_book_and_trade_files_of_one_pair_share_a_grid(data: Path):
    ev = load_events([data / "cryptofeed/KRAKEN.ws.50.0", data / "cryptofeed/KRAKEN.ws.48.0"])
    assert len(ev.markets) == 10 and ev.columns["kind"].count(TRADE) == 10  # 10 trades in 8 messages
    for i, _m in enumerate(ev.markets):
        _, _, crossed = rows.rebuild(ev, i, keep=False)
        assert crossed == 0


def test_lobster_rows_reproduce_every_book_row(data: Path):
    from agenthft.market.feeds import lobster

    msg = data / "lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv"
    book = data / "lobster/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
    ev = load_events([msg])
    assert ev.markets[0].tick_size == "0.01" and ev.meta.files == [str(msg), str(book)]
    _, after, _ = rows.rebuild(ev)
    shown = iter(lobster.read_rows(book, 100))
    # the book after every book message is the next recorded 10-level row it changed to
    assert all(any(state == row for row in shown) for state in after) and len(after) > 700
    assert ev.columns["kind"].count(TRADE) == 98 + 61


def test_lobster_files_reached_through_a_symlinked_folder_pair_under_that_folders_name(data: Path, tmp_path: Path):
    (tmp_path / "linked").symlink_to((data / "lobster").resolve(), target_is_directory=True)
    msg = tmp_path / "linked/AAPL_2012-06-21_34200000_57600000_message_10.csv"
    book = tmp_path / "linked/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
    assert load_events([msg]).meta.files == [str(msg), str(book)]  # not the book's resolved path


def test_lobster_files_pair_by_content_not_name(data: Path, tmp_path: Path):
    msg = shutil.copy(data / "lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv", tmp_path / "a.csv")
    shutil.copy(data / "lobster/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv", tmp_path / "b.csv")
    assert detect_format(tmp_path / "b.csv") == "lobster-book"
    reports = verify_files([tmp_path / "b.csv"])  # the book file named: its message file found beside it
    assert [r.checks_passed for r in reports] == [937, 937]
    assert load_events([msg]).markets[0].market == "LOBSTER"  # no symbol in the data, none in the name either
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(msg, alone / "m.csv")
    with pytest.raises(CaptureFormatError, match="no orderbook file beside it that agrees with it"):
        verify_files([alone / "m.csv"])
    ev = load_events([alone / "m.csv"])  # rows from the L3 messages alone, said so
    assert any("no book file: the messages as L3 rows" in n for n in ev.meta.notes)


def test_zero_rows_from_a_non_empty_file_is_an_error_that_says_why(tmp_path: Path, capsys):
    quiet = tmp_path / "hl.log"
    quiet.write_text(
        '{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"SOL"}}}\n'
    )
    assert detect_format(quiet) == "hyperliquid"
    with pytest.raises(CaptureFormatError, match=r"0 rows from hyperliquid data: nothing to replay"):
        load_events([quiet])
    assert main(["backtest", "bbo-quoter", "--data", str(quiet), "--no-cache"]) == 2
    assert "0 rows from hyperliquid data" in capsys.readouterr().err


def test_exchange_info_and_toml_carry_contracts(tmp_path: Path):
    info = tmp_path / "dapi_exchangeInfo.json"
    filters = [
        {"filterType": "PRICE_FILTER", "tickSize": "0.1"},
        {"filterType": "LOT_SIZE", "stepSize": "1"},
    ]
    info.write_text(
        json.dumps(
            {
                "symbols": [
                    {
                        "symbol": "ETHUSD_PERP",
                        "pair": "ETHUSD",
                        "contractType": "PERPETUAL",
                        "contractSize": 10,
                        "marginAsset": "ETH",
                        "baseAsset": "ETH",
                        "quoteAsset": "USD",
                        "filters": filters,
                    },
                    {
                        "symbol": "BTCUSDT",
                        "contractType": "PERPETUAL",
                        "marginAsset": "USDT",
                        "baseAsset": "BTC",
                        "quoteAsset": "USDT",
                        "filters": filters,
                    },
                ]
            }
        )
    )
    got = load_instruments(info)
    eth, btc = got["ETHUSD_PERP"], got["BTCUSDT"]
    assert (eth.inverse, eth.contract_size, eth.settle_asset) == (True, "10", "ETH")
    assert (btc.inverse, btc.contract_size, btc.settle_asset) == (False, "1", "USDT")
    toml = tmp_path / "m.toml"
    toml.write_text(
        '[[markets]]\nmarket = "XBTUSD"\nbase = "XBT"\nquote = "USD"\nkind = "perp"\ntick_size = "0.5"\n'
        'lot_size = "1"\ncontract_size = "1"\ninverse = true\nsettle = "XBT"\n'
    )
    assert load_instruments(toml)["XBTUSD"].contract_text == "inverse, 1 USD per contract, settled in XBT"
    toml.write_text(
        '[[markets]]\nmarket = "X"\nbase = "X"\nquote = "USD"\nkind = "spot"\ntick_size = "1"\nlot_size = "1"\n'
        "inverse = true\n"
    )
    with pytest.raises(CaptureFormatError, match="a spot market has no contract size and is never inverse"):
        load_instruments(toml)


def test_venue_format_forces_the_reader_and_an_unknown_one_is_refused(data: Path):
    with pytest.raises(CaptureFormatError, match="unknown venue format 'nope'"):
        verify_files([data / "cryptofeed/OKX.ws.1.0"], "nope")


@given(
    st.lists(st.integers(1, 10**6), min_size=1, max_size=30),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=30),
    st.sampled_from([("0.01", "0.25"), ("0.5", "0.2"), ("1", "0.001")]),
)
def test_one_market_read_onto_two_grids_merges_onto_their_common_grid_exactly(
    a_units: list[int], b_units: list[int], ticks: tuple[str, str]
):
    from decimal import Decimal

    from agenthft.market.events import LEVEL, Events, Meta
    from agenthft.model import Instrument, InstrumentKind

    def table(tick: str, units: list[int], t0: int) -> Events:
        inst = Instrument("X/USD", "X", "USD", InstrumentKind.SPOT, tick_size=tick, lot_size=tick)
        ev = Events(Meta("t", [f"f{t0}"], [inst]))
        for k, u in enumerate(units):
            ev.add(t0 + 2 * k, 0, 0, LEVEL, 1, u, u, flags=1)
        return ev

    a, b = table(ticks[0], a_units, 0), table(ticks[1], b_units, 1)
    merged = Events.merge([a, b])
    (inst,) = merged.markets
    got = sorted(Decimal(inst.tick_size) * p for p in merged.columns["price"])
    want = sorted([Decimal(ticks[0]) * u for u in a_units] + [Decimal(ticks[1]) * u for u in b_units])
    assert got == want
    assert sorted(Decimal(inst.lot_size) * q for q in merged.columns["qty"]) == want
