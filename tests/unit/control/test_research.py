"""The research side of the control plane without a network: what data it lists and from
where, which files it lets a supervisor load, and how a backtest request is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenthft.control.research import Research, ResearchError, strategy_catalog
from agenthft.market.events import BID, CLEAR, F_LAST, LEVEL, Events, Meta
from agenthft.model import Instrument, InstrumentKind

PERP = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


def recording(path: Path, seconds: int = 3) -> Path:
    """A small agenthft events file (what `agenthft record` writes): one book, `seconds` long."""
    import pyarrow.parquet as pq

    ev = Events(Meta("agenthft", [], [PERP]))
    for s in range(seconds + 1):
        ev.add(s * 10**9, s * 10**9, 0, CLEAR)
        ev.add(s * 10**9, s * 10**9, 0, LEVEL, BID, 600000 + s, 5, flags=F_LAST)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(ev.to_arrow(), path)
    return path


def test_the_catalog_has_every_shipped_strategy_with_typed_parameters():
    catalog = {s["name"]: s for s in strategy_catalog()}
    assert set(catalog) == {"quoter", "latency-arb", "bbo-quoter", "nbbo-arb", "market-maker"}
    spread = next(p for p in catalog["quoter"]["params"] if p["name"] == "half_spread")
    assert spread == {
        "name": "half_spread",
        "type": "int",
        "default": "5",
        "description": "ticks from the mid to each quote",
    }
    assert all(s["summary"] and "\n" not in s["summary"] for s in catalog.values())


def test_data_is_found_by_content_with_recordings_and_cache_entries_and_their_markets(data: Path, tmp_path: Path):
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    tardis = data / "nautilus_trader" / "tardis" / "bitmex_trades_XBTUSD.csv"
    (folder / "nested" / "any-name.csv").symlink_to(tardis)  # found by content, not by name
    (folder / "notes.txt").write_text("not market data")
    recording(folder / "rec" / "part-1.parquet")
    recording(tmp_path / "cache" / ("f" * 32 + ".parquet"), seconds=7)  # a cache entry of elsewhere
    r = Research([folder], tmp_path / "results", tmp_path / "cache")
    sets = {d.id: d for d in r.datasets()}
    assert set(sets) == {"nested/any-name.csv", "rec/part-1.parquet", "cache:" + "f" * 32}
    capture, rec, cached = sets["nested/any-name.csv"], sets["rec/part-1.parquet"], sets["cache:" + "f" * 32]
    assert (capture.kind, capture.format, capture.backtestable, capture.markets) == ("capture", "tardis", True, None)
    assert (rec.kind, rec.rows, rec.seconds) == ("recording", 8, 3.0)
    assert rec.markets == [
        {"market": "BTC-PERP", "aliases": [], "kind": "perp", "tick_size": "0.1", "lot_size": "0.001"}
    ]
    assert (cached.kind, cached.seconds) == ("cached", 7.0)


async def test_listing_decodes_a_capture_once_into_the_cache(data: Path, tmp_path: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "trades.csv").symlink_to(data / "nautilus_trader" / "tardis" / "bitmex_trades_XBTUSD.csv")
    r = Research([folder], tmp_path / "results", tmp_path / "cache")
    notes: list[str] = []

    async def progress(done: float, total: float, message: str) -> None:
        notes.append(message)

    (listed,) = await r.list_data(decode=True, progress=progress)
    assert listed["markets"][0]["market"] == "XBTUSD" and listed["rows"] == 10
    assert notes == ["decoding trades.csv into the columnar cache (once)", "decoded"]
    notes.clear()
    assert (await r.list_data(decode=True, progress=progress))[0]["markets"] and notes == [], "cached: no work"


def test_a_supervisor_loads_only_files_under_the_data_folders_or_the_cache(tmp_path: Path):
    folder = tmp_path / "data"
    rec = recording(folder / "rec.parquet")
    outside = recording(tmp_path / "elsewhere" / "rec.parquet")
    r = Research([folder], tmp_path / "results", tmp_path / "cache")
    assert r.resolve("rec.parquet") == [str(rec)]
    assert r.resolve([str(rec)]) == [str(rec)]
    for bad in (str(outside), str(folder / ".." / "elsewhere" / "rec.parquet"), "/etc/passwd"):
        with pytest.raises(ResearchError, match="neither a data set id"):
            r.resolve(bad)
    with pytest.raises(ResearchError, match="no data file"):
        r.resolve([str(folder / "missing.parquet")])


def test_a_backtest_request_is_checked_before_any_worker_starts(tmp_path: Path):
    folder = tmp_path / "data"
    recording(folder / "rec.parquet")
    r = Research([folder], tmp_path / "results", tmp_path / "cache")
    runs = r.plan({"params": {"half_spread": [2, 3, 4]}, "scenario": "calm", "seconds": 5}, "quoter")
    assert [(x["params"], Path(x["out"]).name) for x in runs] == [
        ({"half_spread": 2}, "run-0"),
        ({"half_spread": 3}, "run-1"),
        ({"half_spread": 4}, "run-2"),
    ]
    (one,) = r.plan({"strategy": "bbo-quoter", "data": "rec.parquet", "options": {"queue": "optimistic"}}, "quoter")
    assert one["options"]["queue"] == "optimistic" and one["data"] == [str(folder / "rec.parquet")]
    for spec, why in (
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        ({"params": {"half_spread": "wide"}}, "half_spread"),
        ({"scenario": "stormy"}, "no scenario 'stormy'"),
        ({"data": "rec.parquet", "scenario": "calm"}, "not both"),
        ({"data": "rec.parquet", "options": {"fees": "1"}}, "--fees"),
        ({"data": "rec.parquet", "options": {"cache_dir": "/"}}, "'options' takes"),
        ({"risk": {"max_order_notional": 5}}, "risk:"),
        ({"seconds": 0}, "'seconds'"),
        ({"params": {"half_spread": list(range(51))}}, "at most 50"),
        ({"speed": 2}, "unknown field"),
    ):
        with pytest.raises(ResearchError, match=why):
            r.plan(spec, "quoter")
