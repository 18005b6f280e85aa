"""Contracts and funding read from the data: Binance COIN-M is inverse (100 USD a contract for
BTC, 10 for the others, settled in the coin), so a maker fee is 2 bp of 100 USD per contract,
in BTC; Binance's markPrice stream and Hyperliquid's activeAssetCtx give FUNDING rows."""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from agenthft.backtest.data import DataBacktest
from agenthft.cli import main
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import FUNDING
from agenthft.market.feeds.probe import load_instruments
from agenthft.market.sources import load_events
from agenthft.model import OrderType, Side
from agenthft.strategies.base import Context, Strategy
from tests.captures import hftbacktest_lines, write_hftbacktest

CM = ["hftbacktest/cm/btcusd_perp_20240808.gz", "hftbacktest/cm/btcusd_perp_20240809.gz"]
USDM = "hftbacktest/usdm/btcusdt_20240808.gz"
FUNDING_MS = 1_723_161_600_000  # 2024-08-09 00:00 UTC, a Binance funding time inside the USD-M capture


def test_coin_m_fees_are_two_bp_of_100_usd_per_contract_in_btc(
    data: Path, tmp_path: Path, events_cache: Path, capsys, monkeypatch
):
    monkeypatch.setenv("AGENTHFT_CACHE", str(events_cache))  # the pair's rows, decoded once for the run
    argv = ["backtest", "bbo-quoter", "--data", *(str(data / f) for f in CM), "--param", "qty=1"]
    assert main([*argv, "--json", "--out", str(tmp_path / "out")]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["currency"] == "BTC"
    assert summary["contracts"] == {"BTC-PERP": "inverse, 100 USD per contract, settled in BTC"}
    import pyarrow.parquet as pq

    fills = [r for r in pq.read_table(tmp_path / "out" / "events.parquet").to_pylist() if r["event"] == "fill"]
    assert len(fills) == summary["fills"] > 100
    unit = Decimal("1e-12")  # cash units: the notional (100 USD x contracts / price) toward zero, the fee up
    by_hand = Decimal(0)
    for f in fills:
        notional = (Decimal(100) * Decimal(f["qty"]) / Decimal(f["price"])).quantize(unit, ROUND_FLOOR)
        fee = (notional * Decimal("0.0002")).quantize(unit, ROUND_CEILING)
        assert f["fee"] == pytest.approx(float(fee), abs=1e-12)
        by_hand += fee
    assert summary["fees"] == pytest.approx(float(by_hand), abs=1e-8)  # ~3.3e-7 BTC a fill at 61,000 USD
    assert 2.5e-7 < summary["fees"] / summary["fills"] < 4e-7


def test_the_coin_m_note_and_its_override(data: Path, tmp_path: Path):
    ev = load_events([data / CM[0]])
    inst = ev.markets[0]
    assert (inst.market, inst.inverse, inst.contract_size, inst.settle_asset) == ("BTCUSD_PERP", True, "100", "BTC")
    assert (
        "BTCUSD_PERP: inverse, 100 USD per contract (Binance COIN-M rule), settled in BTC; pass --instrument "
        "with exchangeInfo to override"
    ) in ev.meta.notes
    info = tmp_path / "exchangeInfo.json"
    filters = [{"filterType": "PRICE_FILTER", "tickSize": "0.1"}, {"filterType": "LOT_SIZE", "stepSize": "1"}]
    symbol = {"symbol": "BTCUSD_PERP", "contractType": "PERPETUAL", "contractSize": 50, "marginAsset": "BTC"}
    info.write_text(json.dumps({"symbols": [symbol | {"baseAsset": "BTC", "quoteAsset": "USD", "filters": filters}]}))
    given = load_events([data / CM[0]], load_instruments(info))
    assert given.markets[0].contract_size == "50" and given.markets[0].inverse


def test_another_coin_m_pair_is_10_usd_a_contract(data: Path, tmp_path: Path):
    lines = [
        (ns, body.replace("btcusd_perp", "ethusd_perp").replace("BTCUSD_PERP", "ETHUSD_PERP").replace(
            '"ps":"BTCUSD"', '"ps":"ETHUSD"'
        ))
        for ns, body in hftbacktest_lines(data / CM[0], 5000)
    ]  # fmt: skip
    inst = load_events([write_hftbacktest(tmp_path / "eth.gz", lines)]).markets[0]
    assert (inst.market, inst.contract_size, inst.settle_asset) == ("ETHUSD_PERP", "10", "ETH")


class BuyAndHold(Strategy):
    """Buys `qty` at the ask once and holds it."""

    name = "buy-and-hold"

    def __init__(self, market: str, qty: str) -> None:
        self.markets = (market,)
        self.qty = qty
        self.sent = False

    def on_book(self, ctx: Context, market: str) -> None:
        ask = ctx.books[market].best_ask()
        if not self.sent and ask is not None:
            self.sent = True
            ctx.submit(market, Side.BUY, ctx.instruments[market].qty_to_lots(self.qty), ask, OrderType.LIMIT)


def mark_price(local_ns: int, e_ms: int, mark: str, rate: str) -> tuple[int, str]:
    next_funding = FUNDING_MS if e_ms < FUNDING_MS else FUNDING_MS + 8 * 3_600_000
    data = {"e": "markPriceUpdate", "E": e_ms, "s": "BTCUSDT", "p": mark, "i": mark, "P": mark, "r": rate}
    data["T"] = next_funding
    return local_ns, json.dumps({"stream": "btcusdt@markPrice@1s", "data": data}, separators=(",", ":"))


def test_binance_mark_price_gives_a_funding_row_when_a_funding_time_passes(data: Path, tmp_path: Path):
    lines = list(hftbacktest_lines(data / USDM))
    t, end = lines[0][0], lines[-1][0]
    marks = []
    while t < end:  # one markPrice a second, E = local + 1.27 s as in this capture
        e_ms = (t + 1_270_000_000) // 1_000_000
        rate = "0.00010000" if e_ms < FUNDING_MS else "0.00005000"
        marks.append(mark_price(t, e_ms, "61800.12345678", rate))
        t += 1_000_000_000
    cap = write_hftbacktest(tmp_path / "with-mark.gz", sorted(lines + marks, key=lambda x: x[0]))
    ev = load_events([cap])
    c = ev.columns
    rows = [i for i, k in enumerate(c["kind"]) if k == FUNDING]
    assert len(rows) == 1
    (i,) = rows
    assert c["ts_exch"][i] == FUNDING_MS * 1_000_000 and c["qty"][i] == 100_000_000  # 0.0001 in 1e-12
    assert c["price"][i] == ev.markets[0].price_to_ticks("61800.1")  # the mark, rounded to the nearest tick
    first_after = next(ns for ns, body in marks if json.loads(body)["data"]["E"] >= FUNDING_MS)
    assert c["ts_local"][i] == first_after
    assert "BTCUSDT: funding from the markPrice stream: 1 funding time(s) passed in" in " ".join(ev.meta.notes)
    bt = DataBacktest(BuyAndHold("BTC-PERP", "0.01"), ev, Constant(300, 300, 300))
    res = bt.run()
    assert bt.funding_events == 1
    (paid,) = [r for r in res.events if r["event"] == "funding"]
    # long 0.01 BTC at the funding time pays 0.0001 of its notional at the recorded mark
    assert res.summary.funding == pytest.approx(0.01 * 61800.1 * 0.0001) == paid["fee"]
    plain = load_events([data / USDM])
    assert any("funding is not in the data (no markPrice stream)" in n for n in plain.meta.notes)


def hl(local_ns: int, channel: str, data: object) -> str:
    return f"{local_ns} " + json.dumps({"channel": channel, "data": data}, separators=(",", ":"))


def test_hyperliquid_asset_context_gives_hourly_funding(tmp_path: Path):
    hour = 1_723_161_600_000_000_000  # an hour boundary (ns)
    lines = []
    for k, t in enumerate(range(hour - 3 * 10**9, hour + 3 * 10**9, 10**9)):
        book = {
            "coin": "SOL",
            "time": t // 10**6,
            "levels": [[{"px": "150.10", "sz": "3", "n": 1}], [{"px": "150.20", "sz": str(2 + k), "n": 1}]],
        }
        lines.append(hl(t, "l2Book", book))
        ctx = {"coin": "SOL", "ctx": {"funding": "0.0000125", "markPx": "150.149", "oraclePx": "150.1"}}
        lines.append(hl(t + 1000, "activeAssetCtx", ctx))
    path = tmp_path / "hl.log"
    path.write_text("\n".join(lines) + "\n")
    ev = load_events([path])
    c = ev.columns
    (i,) = [i for i, k in enumerate(c["kind"]) if k == FUNDING]
    assert c["ts_exch"][i] == hour and c["qty"][i] == 12_500_000  # 0.0000125 in 1e-12
    assert c["price"][i] == ev.markets[0].price_to_ticks("150.1")  # 150.149 to the nearest 0.1 tick
    assert any("funding from activeAssetCtx" in n and "1 funding time(s)" in n for n in ev.meta.notes)
    assert any("local timestamps in ns since the epoch" in n for n in ev.meta.notes)
    path.write_text("\n".join(x for x in lines if "activeAssetCtx" not in x) + "\n")
    assert any("funding is not in the data (no activeAssetCtx" in n for n in load_events([path]).meta.notes)
