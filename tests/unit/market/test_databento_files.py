"""Databento files as Databento delivers them: `.dbn.zst`, written here with the official
`databento-dbn` encoder and zstd. An MBO day starts with a snapshot (a clear, then every resting
order, flagged F_SNAPSHOT | F_BAD_TS_RECV, in no sequence order); a one-symbol file's `sequence`
(the channel's) skips numbers; a trade is one event of T, F and C records with F_LAST on the
last. Replay passes, and a backtest quotes on the L3 book aggregated to L2."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zstandard

from agenthft.backtest.data import DataBacktest
from agenthft.cli import main
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import LEVEL, TRADE
from agenthft.market.feeds import detect_format, verify_files
from agenthft.market.feeds.probe import CaptureFormatError
from agenthft.market.sources import load_events
from agenthft.model import Side
from agenthft.strategies.base import Context, Strategy
from tests import rows

T0 = 1_704_067_200_000_000_000  # 2024-01-01 00:00 UTC: the session's snapshot


def px(p: Decimal | str) -> int:
    return int(Decimal(p).scaleb(9))


def write_dbn_zst(path: Path, records: list[Any], schema: str = "MBO", symbol: str = "ESH4") -> Path:
    import databento_dbn as dbn

    meta = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=T0,
        stype_in=dbn.SType.RAW_SYMBOL,  # type: ignore[arg-type]
        stype_out=dbn.SType.INSTRUMENT_ID,  # type: ignore[arg-type]
        schema=getattr(dbn.Schema, schema),
        symbols=[symbol],
    )
    raw = meta.encode() + b"".join(bytes(r) for r in records)
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(raw))
    return path


def mbo_day(events: int = 600, seed: int = 5) -> list[Any]:
    import databento_dbn as dbn

    rng = random.Random(seed)

    def rec(ts: int, seq: int, action: str, side: str, price: Decimal | None, size: int, oid: int, flags: int) -> Any:
        p = px(price) if price is not None else dbn.UNDEF_PRICE
        a, s = dbn.Action.from_str(action), dbn.Side.from_str(side)
        return dbn.MBOMsg(1, 5602, ts - 250, oid, p, size, a, s, ts, flags=flags, sequence=seq)

    snap = dbn.F_SNAPSHOT | dbn.F_BAD_TS_RECV
    out = [rec(T0, 0, "R", "N", None, 0, 0, snap)]
    orders: dict[int, tuple[str, Decimal, int]] = {}
    oid = 7_000_000
    bids = [Decimal("4800.00") - Decimal("0.25") * i for i in range(10)]
    asks = [Decimal("4800.25") + Decimal("0.25") * i for i in range(10)]
    resting = [("B", p) for p in bids for _ in range(2)] + [("A", p) for p in asks for _ in range(2)]
    for k, (side, p) in enumerate(resting):
        oid += 1
        orders[oid] = (side, p, rng.randint(1, 30))
        last = dbn.F_LAST if k == len(resting) - 1 else 0
        out.append(rec(T0, rng.randint(1, 9_000_000), "A", side, p, orders[oid][2], oid, snap | last))
    seq, t = 9_100_000, T0 + 10**9
    for _ in range(events):
        seq += rng.choice([1, 1, 3, 12])  # the channel's other instruments' messages
        t += rng.randint(10**5, 10**9)
        r = rng.random()
        if r < 0.5 or len(orders) < 8:
            oid += 1
            side = rng.choice("BA")
            p = rng.choice(bids[:4] if side == "B" else asks[:4])
            orders[oid] = (side, p, rng.randint(1, 10))
            out.append(rec(t, seq, "A", side, p, orders[oid][2], oid, dbn.F_LAST))
        elif r < 0.8:
            o = rng.choice(sorted(orders))
            side, p, q = orders.pop(o)
            out.append(rec(t, seq, "C", side, p, q, o, dbn.F_LAST))
        else:  # an aggressor takes 1 from the best order: T, F, then the book change, F_LAST on the last
            side = rng.choice("BA")
            best = (max if side == "B" else min)(p for s, p, _ in orders.values() if s == side)
            o = min(k for k, (s, p, _) in orders.items() if s == side and p == best)
            s, p, q = orders[o]
            out.append(rec(t, seq, "T", "A" if side == "B" else "B", p, 1, 0, 0))
            out.append(rec(t, seq, "F", side, p, 1, o, 0))
            if q > 1:
                orders[o] = (s, p, q - 1)
                out.append(rec(t, seq, "C", side, p, 1, o, dbn.F_LAST))
            else:
                del orders[o]
                out.append(rec(t, seq, "C", side, p, 1, o, dbn.F_LAST))
    return out


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dbn_zst(tmp_path_factory.mktemp("dbn") / "glbx-mdp3-20240101.mbo.dbn.zst", mbo_day())


def test_replay_of_a_dbn_zst_day_passes_with_its_snapshot_and_sequence_skips_explained(day: Path, capsys):
    assert detect_format(day) == "databento"
    assert main(["replay", str(day), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["checks_failed"] == 0 and report["gaps"] == 0 and report["checks_passed"] > 600
    notes = " ".join(report["notes"])
    assert "41 snapshot records (F_SNAPSHOT) are exempt from sequence order" in notes
    assert "sequence skipped numbers" in notes and "shared by every instrument on it" in notes
    assert main(["replay", str(day)]) == 0
    assert "FAIL" not in capsys.readouterr().out


def test_a_backtest_on_the_day_places_orders(day: Path, capsys):
    argv = ["backtest", "bbo-quoter", "--data", str(day), "--param", "market=ESH4", "--param", "qty=1"]
    assert main([*argv, "--no-cache", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["orders"] >= 4 and summary["cancels"] >= 2  # quotes at the snapshot's touch, requoted as it moves


class BookTap(Strategy):
    """Records the agent's book after every update and counts trades."""

    name = "book-tap"

    def __init__(self, market: str) -> None:
        self.markets = (market,)
        self.books: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]] = []
        self.trades = 0

    def on_book(self, ctx: Context, market: str) -> None:
        book = ctx.books[market]
        self.books.append((book.bids(), book.asks()))

    def on_trade(self, ctx: Context, market: str, price: int, qty: int, aggressor: Side) -> None:
        self.trades += 1


def test_the_agent_sees_each_trade_and_the_book_change_of_the_same_event(day: Path):
    ev = load_events([day])
    c = ev.columns
    # after aggregation a trade event is one message: its trade first, then the level it changed
    starts = [0, *ev.message_ends()[:-1]]
    mixed = [s for s in starts if c["kind"][s] == TRADE and LEVEL in c["kind"][s : ev.message_ends()[starts.index(s)]]]
    assert len(mixed) > 50
    tap = BookTap("ESH4")
    DataBacktest(tap, ev, Constant(0, 1000, 0)).run()
    _, after, crossed = rows.rebuild(ev)
    assert tap.trades == c["kind"].count(TRADE) and crossed == 0
    assert tap.books == after  # every book message, whole, as the rows say (trade events included)


def test_mbp1_tbbo_and_trades_schemas(tmp_path: Path):
    import databento_dbn as dbn

    def top(bid: str, ask: str, bq: int, aq: int) -> Any:
        return dbn.BidAskPair(bid_px=px(bid), ask_px=px(ask), bid_sz=bq, ask_sz=aq)

    def mbp1(i: int, action: str, side: str, price: str, size: int, level: Any) -> Any:
        a, s = dbn.Action.from_str(action), dbn.Side.from_str(side)
        t = T0 + i * 10**6
        return dbn.MBP1Msg(1, 9, t, px(price), size, a, s, 0, t + 5, flags=dbn.F_LAST, sequence=100 + i, levels=level)

    recs = [
        mbp1(1, "A", "B", "100.25", 5, top("100.25", "100.50", 5, 7)),
        mbp1(2, "T", "A", "100.25", 2, top("100.25", "100.50", 3, 7)),  # the book after the trade
        mbp1(3, "C", "A", "100.50", 7, top("100.25", "100.75", 3, 1)),
    ]
    ev = load_events([write_dbn_zst(tmp_path / "x.mbp-1.dbn.zst", recs, "MBP_1", "XYZ")])
    t = ev.markets[0].price_to_ticks
    books = rows.rebuild(ev)[1]
    assert books[-1] == ([(t("100.25"), 3)], [(t("100.75"), 1)])
    assert [ev.columns["side"][i] for i, k in enumerate(ev.columns["kind"]) if k == TRADE] == [-1]

    tbbo = [mbp1(1, "T", "B", "100.50", 1, top("100.25", "100.50", 5, 7))]  # the top *before* the trade
    ev = load_events([write_dbn_zst(tmp_path / "x.tbbo.dbn.zst", tbbo, "TBBO", "XYZ")])
    assert ev.columns["kind"][-1] == TRADE and rows.rebuild(ev)[1][0][1] == [
        (ev.markets[0].price_to_ticks("100.50"), 7)
    ]

    def trade(i: int, price: str) -> Any:
        a, s = dbn.Action.from_str("T"), dbn.Side.from_str("B")
        return dbn.TradeMsg(1, 9, T0 + i, px(price), 1, a, s, 0, T0 + i + 5, sequence=10 + 2 * i)

    path = write_dbn_zst(tmp_path / "x.trades.dbn.zst", [trade(1, "99.5"), trade(2, "99.75")], "TRADES", "XYZ")
    ev = load_events([path])
    assert ev.columns["kind"] == [TRADE, TRADE] and ev.markets[0].tick_size == "0.25"
    (report,) = verify_files([path])
    assert report.ok and report.checks_passed == 1  # one record after the first, in sequence order


def test_a_zstd_file_that_is_not_dbn_and_a_damaged_one_are_clear_errors(tmp_path: Path):
    text = tmp_path / "notes.zst"
    text.write_bytes(zstandard.ZstdCompressor().compress(b"hello\nworld\n"))
    with pytest.raises(CaptureFormatError, match="not a capture this version reads"):
        detect_format(text)
    broken = tmp_path / "broken.dbn.zst"
    broken.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    with pytest.raises(CaptureFormatError, match=f"{broken}: (cannot|zstd-compressed, but it decompresses to nothing)"):
        detect_format(broken)
