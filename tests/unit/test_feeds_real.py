"""The book replica rebuilt from real captures matches each capture's own oracle, 100 %."""

import gzip
import json
from pathlib import Path

import pytest

from agenthft.book import SequenceGap
from agenthft.market.feeds import binance, detect_format, kraken, lobster, okx, verify_files
from agenthft.model import Instrument, InstrumentKind

BINANCE_SPOT_BTCUSDT = Instrument(
    "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, tick_size="0.01", lot_size="0.00000001"
)
BINANCE_USDM_BTCUSDT = Instrument("BTCUSDT-PERP", "BTC", "USDT", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


@pytest.mark.parametrize(
    ("files", "checks"),
    [
        (["spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"], 1072),
        (["usdm/btcusdt_20240808.gz"], 629),
        (["cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"], 1885),
    ],
)
def test_binance_rebuild_matches_every_bookticker(data: Path, files, checks):
    r = binance.verify([data / "hftbacktest" / f for f in files])
    assert (r.checks_passed, r.checks_failed, r.gaps, r.crossed) == (checks, 0, 0, 0), r.failures


def test_okx_rebuild_matches_every_checksum(data: Path):
    r = okx.verify(data / "cryptofeed/OKX.ws.1.0")
    assert (r.checks_passed, r.checks_failed, r.crossed) == (290, 0, 0), r.failures
    assert sorted(r.markets) == ["BTC-USD-220527", "BTC-USDT", "UNI-USD-SWAP"]


def test_kraken_rebuild_matches_every_checksum(data: Path):
    r = kraken.verify(data / "cryptofeed/KRAKEN.ws.50.0")
    assert (r.checks_passed, r.checks_failed, r.crossed) == (4269, 0, 0), r.failures
    assert len(r.markets) == 10


def test_lobster_l3_messages_reproduce_every_book_row(data: Path):
    r = lobster.verify(data / "lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv")
    assert (r.checks_passed, r.checks_failed, r.crossed, r.events) == (937, 0, 0, 999), r.failures


def test_lobster_l3_messages_through_the_matching_engine_reproduce_every_row(data: Path):
    r = lobster.verify_engine(data / "lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv")
    assert (r.checks_passed, r.checks_failed, r.crossed) == (937, 0, 0), r.failures
    # every execution of an order placed inside the file filled exactly that order
    assert "90 named makers" in r.check


def test_binance_gap_in_the_chain_is_reported(data: Path, tmp_path: Path):
    # Drop one futures depth update after the snapshot: the next one's pu no longer chains.
    src = data / "hftbacktest/usdm/btcusdt_20240808.gz"
    with gzip.open(src, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    snap = next(i for i, ln in enumerate(lines) if b"lastUpdateId" in ln)
    victim = next(i for i in range(snap + 20, len(lines)) if b"depthUpdate" in lines[i])
    broken = tmp_path / "usdm" / "gap.gz"
    broken.parent.mkdir()
    with gzip.open(broken, "wb") as f:
        f.writelines(lines[:victim] + lines[victim + 1 :])
    with pytest.raises(SequenceGap) as e:
        binance.verify([broken])
    assert e.value.expected != e.value.got


def test_binance_spot_bridging_keeps_updates_that_arrive_before_the_snapshot():
    sync = binance.BinanceDepthSync(BINANCE_SPOT_BTCUSDT, futures=False)
    stale = binance.DepthUpdate(U=1, u=4, b=[("98.00", "1")], a=[])
    early = binance.DepthUpdate(U=5, u=12, b=[("100.00", "1.0")], a=[])
    assert sync.on_depth(stale) is False and sync.on_depth(early) is False  # buffered
    applied = sync.on_snapshot(10, [("99.00", "2")], [("101.00", "3")])
    assert applied == [early], "u <= lastUpdateId is dropped, the bridging update applied"
    assert sync.book.top() == (10000, 100_000_000, 10100, 300_000_000)
    assert sync.book.bid_qty(9800) == 0
    assert sync.on_depth(binance.DepthUpdate(U=13, u=15, b=[], a=[("101.00", "0")])) is True
    with pytest.raises(SequenceGap):
        sync.on_depth(binance.DepthUpdate(U=17, u=18, b=[], a=[]))


def test_binance_futures_bridge_uses_pu_chaining():
    sync = binance.BinanceDepthSync(BINANCE_USDM_BTCUSDT, futures=True)
    sync.on_snapshot(10, [("99.0", "2")], [("101.0", "3")])
    assert sync.on_depth(binance.DepthUpdate(U=3, u=9, pu=2, b=[], a=[])) is False  # u < L dropped
    assert sync.on_depth(binance.DepthUpdate(U=8, u=12, pu=7, b=[("100.0", "1")], a=[])) is True
    assert sync.on_depth(binance.DepthUpdate(U=13, u=20, pu=12, b=[], a=[])) is True
    with pytest.raises(SequenceGap):
        sync.on_depth(binance.DepthUpdate(U=22, u=25, pu=21, b=[], a=[]))


def test_binance_futures_first_event_after_a_quiet_snapshot_bridges_by_pu():
    """A quiet market: the event holding lastUpdateId went out before we subscribed, so the
    first one we see starts after it; its `pu` names the snapshot, so it follows it exactly
    (found recording our own Binance-dialect venue: the old rule resynced in a loop)."""
    sync = binance.BinanceDepthSync(BINANCE_USDM_BTCUSDT, futures=True)
    sync.on_snapshot(257, [("99.0", "2")], [("101.0", "3")])
    assert sync.on_depth(binance.DepthUpdate(U=258, u=258, pu=257, b=[("100.0", "1")], a=[])) is True
    assert sync.book.best_bid() == 1000
    other = binance.BinanceDepthSync(BINANCE_USDM_BTCUSDT, futures=True)
    other.on_snapshot(257, [("99.0", "2")], [("101.0", "3")])
    with pytest.raises(SequenceGap):  # an event one step further on does not bridge
        other.on_depth(binance.DepthUpdate(U=259, u=259, pu=258, b=[], a=[]))


def test_detect_format_by_content_not_by_name(data: Path, tmp_path: Path):
    for src, fmt in (
        (data / "hftbacktest/usdm/btcusdt_20240808.gz", "binance"),
        (data / "cryptofeed/OKX.ws.1.0", "okx"),
        (data / "cryptofeed/KRAKEN.ws.50.0", "kraken"),
        (data / "lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv", "lobster"),
    ):
        renamed = tmp_path / f"capture-{fmt}.bin"
        renamed.write_bytes(src.read_bytes())
        assert detect_format(renamed) == fmt
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    with pytest.raises(ValueError, match="expected hftbacktest Binance"):
        detect_format(unknown)
    hyper = tmp_path / "hl.log"
    hyper.write_text('1700000000000000000 {"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}}\n')
    assert detect_format(hyper) == "hyperliquid"  # a reader now (tests/unit/test_feeds_more.py)


def test_verify_files_reports_as_json_ready_structs(data: Path):
    (r,) = verify_files([data / "cryptofeed/OKX.ws.1.0"])
    assert json.loads(__import__("msgspec").json.encode(r))["checks_passed"] == 290
