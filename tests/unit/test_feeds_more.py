"""Readers of the formats quants buy or record: Tardis.dev CSV, Databento DBN, Hyperliquid,
our own recordings; format detection by content; rows -> book replica -> backtest.

Tardis: the real Tardis CSV excerpts in ../shared/data/nautilus_trader/tardis. Databento: files
written here with the official `databento-dbn` package's own encoder (no DBN file is shared).
Hyperliquid: messages in the shapes of Hyperliquid's WebSocket documentation (no capture is
shared). Each is checked against what the test knows the book must be."""

from __future__ import annotations

import gzip
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from agenthft.backtest.data import DataBacktest
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import CLEAR, LEVEL, TRADE, CaptureFormatError, Events
from agenthft.market.feeds import registry as probe
from agenthft.market.feeds import verify_files
from agenthft.market.sources import load_events
from agenthft.strategies.bbo_quoter import BboQuoter
from tests import rows
from tests.rows import Snapshot


def rebuild(ev: Events) -> list[Snapshot]:
    """The book (bids, asks) after each book message."""
    return rows.rebuild(ev)[1]


# --- Tardis ----------------------------------------------------------------------------------
def test_tardis_snapshots_rebuild_every_recorded_row(data: Path):
    path = data / "nautilus_trader" / "tardis" / "binance-futures_book_snapshot_25_BTCUSDT.csv"
    assert probe.detect_format(path) == "tardis"
    ev = load_events([path])
    inst = ev.markets[0]
    assert inst.market == "BTCUSDT" and inst.tick_size == "0.01"
    books = rebuild(ev)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert len(books) == len(lines) - 1 == 10
    for line, (bids, asks) in zip(lines[1:], books, strict=True):
        row = dict(zip(header, line.split(","), strict=True))
        want_bids = [
            (inst.price_to_ticks(row[f"bids[{i}].price"]), inst.qty_to_lots(row[f"bids[{i}].amount"]))
            for i in range(25)
        ]
        want_asks = [
            (inst.price_to_ticks(row[f"asks[{i}].price"]), inst.qty_to_lots(row[f"asks[{i}].amount"]))
            for i in range(25)
        ]
        assert bids == want_bids and asks == want_asks


def test_tardis_incremental_and_trades_keep_the_documented_meaning(data: Path, tmp_path: Path):
    folder = data / "nautilus_trader" / "tardis"
    inc = load_events([folder / "deribit_incremental_book_L2_BTC-PERPETUAL.csv"])
    assert inc.columns["kind"][0] == CLEAR  # is_snapshot rows start a book
    assert inc.markets[0].market == "BTC-PERPETUAL" and len(rebuild(inc)[-1][1]) == 15
    # gzip is read by content, whatever the name
    gz = tmp_path / "no-extension"
    gz.write_bytes(gzip.compress((folder / "bitmex_trades_XBTUSD.csv").read_bytes()))
    tr = load_events([gz])
    assert tr.columns["kind"] == [TRADE] * 10 and set(tr.columns["side"]) == {-1}  # all sells (taker side)
    assert tr.markets[0].tick_size == "0.1"  # one distinct price (8531.5): only its precision is known


# --- Databento ----------------------------------------------------------------------------------
def write_dbn(path: Path, records: list[object], schema: str = "MBO", symbol: str = "ESZ4") -> Path:
    import databento_dbn as dbn

    meta = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=1_700_000_000_000_000_000,
        stype_in=dbn.SType.RAW_SYMBOL,  # type: ignore[arg-type]
        stype_out=dbn.SType.INSTRUMENT_ID,  # type: ignore[arg-type]
        schema=getattr(dbn.Schema, schema),
        symbols=[symbol],
    )
    path.write_bytes(meta.encode() + b"".join(bytes(r) for r in records))  # type: ignore[call-overload]
    return path


def mbo(seq: int, action: str, side: str, price: str, size: int, oid: int, last: bool = True) -> object:
    import databento_dbn as dbn

    t = 1_700_000_000_000_000_000 + seq * 1000
    return dbn.MBOMsg(
        1, 7, t, oid, int(Decimal(price).scaleb(9)), size, dbn.Action.from_str(action), dbn.Side.from_str(side), t + 50,
        flags=128 if last else 0, sequence=seq,
    )  # fmt: skip


def test_databento_mbo_order_by_order_to_levels_with_sequence_checks(tmp_path: Path):
    recs = [
        mbo(1, "A", "B", "5000.25", 3, 11),
        mbo(2, "A", "B", "5000.25", 2, 12),
        mbo(3, "A", "A", "5000.50", 4, 21),
        mbo(4, "T", "A", "5000.25", 1, 0, last=False),  # a seller takes 1 from order 11
        mbo(4, "F", "B", "5000.25", 1, 11, last=False),  # information: the book change is the cancel
        mbo(4, "C", "B", "5000.25", 1, 11),
        mbo(5, "M", "A", "5000.75", 4, 21),  # order 21 moves up a tick
        mbo(6, "C", "B", "5000.25", 2, 12),
    ]
    path = write_dbn(tmp_path / "es.dbn", recs)
    assert probe.detect_format(path) == "databento"
    ev = load_events([path])
    inst = ev.markets[0]
    assert inst.market == "ESZ4" and inst.tick_size == "0.25"
    books = rebuild(ev)
    t = inst.price_to_ticks
    assert books[0] == ([(t("5000.25"), 3)], [])
    assert books[3] == ([(t("5000.25"), 4)], [(t("5000.50"), 4)])  # 5 - 1 traded
    assert books[-1] == ([(t("5000.25"), 2)], [(t("5000.75"), 4)])
    assert [ev.columns["side"][i] for i, k in enumerate(ev.columns["kind"]) if k == TRADE] == [-1]
    (report,) = verify_files([path])
    assert report.ok and report.gaps == 0 and report.checks_passed == 6 + 7  # 6 books not crossed, 7 records in order
    # a skipped sequence number is the channel's other instruments: counted and explained, not failed
    skip = write_dbn(tmp_path / "skip.dbn", [*recs[:3], mbo(9, "C", "B", "5000.25", 1, 11)])
    (skipped,) = verify_files([skip])
    assert skipped.ok and skipped.gaps == 0 and any("skipped numbers 1 times" in n for n in skipped.notes)
    back = write_dbn(tmp_path / "back.dbn", [*recs[:3], mbo(2, "C", "B", "5000.25", 1, 11)])
    (bad,) = verify_files([back])
    assert not bad.ok and "sequence went back 1 times" in bad.failures[0]


def test_databento_crossed_book_in_an_auction_is_counted_not_failed(tmp_path: Path):
    recs = [mbo(1, "A", "B", "5001.0", 1, 1), mbo(2, "A", "A", "5000.0", 1, 2), mbo(3, "R", "N", "0", 0, 0)]
    (report,) = verify_files([write_dbn(tmp_path / "auction.dbn", recs)])
    assert report.crossed == 0 and report.checks_failed == 0
    assert any("crossed" in n and "auction" in n for n in report.notes)


# --- Hyperliquid --------------------------------------------------------------------------------
def hl_book(t: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    side = [[{"px": p, "sz": s, "n": 1} for p, s in bids], [{"px": p, "sz": s, "n": 1} for p, s in asks]]
    return json.dumps({"channel": "l2Book", "data": {"coin": "SOL", "time": t, "levels": side}})


def test_hyperliquid_snapshots_become_level_changes_that_rebuild_each_snapshot(tmp_path: Path):
    snaps = [
        ([("180.10", "5.5"), ("180.00", "2")], [("180.20", "1.25"), ("180.30", "7")]),
        ([("180.10", "4.5"), ("180.00", "2")], [("180.20", "1.25"), ("180.30", "7")]),
        ([("180.20", "0.5"), ("180.10", "4.5")], [("180.30", "6"), ("180.40", "1")]),
    ]
    lines = [
        f"{1_700_000_000_000_000_000 + i * 10**6} {hl_book(1_700_000_000_000 + i, b, a)}"
        for i, (b, a) in enumerate(snaps)
    ]
    trade = {"coin": "SOL", "side": "B", "px": "180.20", "sz": "0.75", "time": 1_700_000_000_001, "tid": 9}
    lines.insert(2, f"1700000000001500000 {json.dumps({'channel': 'trades', 'data': [trade]})}")
    path = tmp_path / "hl.log"
    path.write_text("\n".join(lines) + "\n")
    assert probe.detect_format(path) == "hyperliquid"
    ev = load_events([path])
    inst = ev.markets[0]
    assert (inst.market, inst.tick_size, inst.lot_size) == ("SOL", "0.1", "0.25")
    pt, ql = inst.price_to_ticks, inst.qty_to_lots
    books = rebuild(ev)
    assert len(books) == 3
    for (bids, asks), (wb, wa) in zip(books, snaps, strict=True):
        assert bids == [(pt(p), ql(s)) for p, s in wb] and asks == [(pt(p), ql(s)) for p, s in wa]
    c = ev.columns
    assert sum(1 for k in c["kind"] if k == LEVEL) == 4 + 1 + 5  # snapshot, then only what changed
    (report,) = verify_files([path])
    assert report.ok and report.checks_passed == 3


# --- detection, errors, the backtest on any source ---------------------------------------------------
def test_an_unknown_file_names_the_formats_expected(tmp_path: Path):
    junk = tmp_path / "x.csv"
    junk.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CaptureFormatError, match=r"Tardis\.dev CSV, a Databento DBN file"):
        probe.detect_format(junk)


def test_a_backtest_runs_on_a_tardis_file_like_on_binance(data: Path, tmp_path: Path):
    src = data / "nautilus_trader" / "tardis" / "binance-futures_book_snapshot_25_BTCUSDT.csv"
    copy = shutil.copy(src, tmp_path / "renamed.dat")
    res = DataBacktest(BboQuoter("BTCUSDT", "0.001"), load_events([copy]), Constant(0, 1000, 0)).run()
    assert res.summary.orders >= 2 and res.summary.events == len(load_events([copy]))


# --- cryptofeed raw captures of Binance futures ---------------------------------------------------
def write_cryptofeed(tmp_path: Path, captures: list[Path], lines_each: int) -> Path:
    """The shared hftbacktest captures re-written as one cryptofeed raw capture: every market's
    stream messages multiplexed on one connection, the REST snapshots in the `.http` file beside
    it (cryptofeed's AsyncFileCallback line formats), local times as Unix seconds."""
    ws: list[tuple[int, str]] = []
    http: list[str] = []
    for cap in captures:
        with gzip.open(cap, "rt") as f:
            for n, line in enumerate(f):
                if n >= lines_each:
                    break
                ns, _, body = line.rstrip("\n").partition(" ")
                secs = f"{int(ns) // 10**9}.{int(ns) % 10**9:09d}"
                if '"stream"' in body:
                    ws.append((int(ns), f"{secs}: {body}"))
                else:
                    sym = json.loads(ws[-1][1].split(": ", 1)[1])["stream"].split("@")[0].upper()
                    http.append(f"https://fapi.binance.com/fapi/v1/depth?symbol={sym}&limit=1000 -> {secs}: {body}")
    ws.sort(key=lambda x: x[0])
    path = tmp_path / "BINANCE_FUTURES.ws.1.0"
    path.write_text("wss://fstream.binance.com/stream <-> 1723161255.0\n" + "\n".join(x for _, x in ws) + "\n")
    Path(f"{path}.http").write_text("\n".join(http) + "\n")
    return path


def test_cryptofeed_binance_futures_demultiplexed_per_symbol_and_checked_by_bookticker(data: Path, tmp_path: Path):
    usdm = data / "hftbacktest/usdm/btcusdt_20240808.gz"
    cm = data / "hftbacktest/cm/btcusd_perp_20240808.gz"
    path = write_cryptofeed(tmp_path, [usdm, cm], 20_000)
    assert probe.detect_format(path) == "cryptofeed-binance"
    reports = verify_files([path])
    assert sorted(r.markets[0] for r in reports) == ["BTCUSDT-PERP", "BTCUSD_PERP"]
    for r in reports:
        assert r.ok and r.checks_passed > 50, (r.markets, r.failures, r.notes)
    ev = load_events([path])
    assert sorted(m.market for m in ev.markets) == ["BTCUSDT-PERP", "BTCUSD_PERP"]
    assert {m.tick_size for m in ev.markets} == {"0.1"}
