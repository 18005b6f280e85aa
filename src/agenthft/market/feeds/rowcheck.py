"""Verification of sources read as normalised rows (Tardis, Databento, Hyperliquid, our own
recordings): the book replica rebuilt message by message, with the checks each source allows.

- every source: the book at the end of each message is not crossed (a crossed book is a
  failed check, except where the source says crossing is legal: Databento during auctions, and
  then it is counted and noted, not failed);
- Databento: per instrument, the feed's `sequence` never goes back outside snapshot records (each
  record in order is a check); skipped numbers are counted and explained (a channel's sequence is
  shared by its instruments), not failed.
Sources with a stronger oracle in their own data (bookTicker ids, checksums, recorded book rows)
use their own readers (binance, okx, kraken, lobster).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.book import L2Book
from agenthft.market.events import CLEAR, F_LAST, FUNDING, LEVEL, TRADE, Events
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.l3 import to_l2


def verify_rows(fmt: str, paths: Sequence[str | Path], raw: Events, started: float) -> ReplayReport:
    """`raw`: the rows read from `paths` (`registry.read_group`), read from `started` on."""
    ev = to_l2(raw)
    report = ReplayReport(fmt, [str(p) for p in paths], "book not crossed", markets=[m.market for m in ev.markets])
    report.notes += ev.meta.notes
    crossing_legal = fmt == "databento"
    books = [L2Book(m.market) for m in ev.markets]
    c = ev.columns
    crossed_ok = 0
    for i, kind in enumerate(c["kind"]):
        report.events += 1
        book = books[c["market"][i]]
        if kind == LEVEL:
            (book.set_bid if c["side"][i] > 0 else book.set_ask)(c["price"][i], c["qty"][i])
        elif kind == CLEAR:
            book.clear()
        if c["flags"][i] & F_LAST and kind not in (TRADE, FUNDING):
            if book.is_crossed():
                if crossing_legal:
                    crossed_ok += 1
                else:
                    report.crossed += 1
                    report.fail(f"{book.market}: crossed after row {i}: {book.top()}")
            else:
                report.checks_passed += 1
    counts = raw.meta.counts
    if "sequence_ok" in counts or "sequence_back" in counts:
        report.check += ", sequence in order"
        report.checks_passed += counts.get("sequence_ok", 0)
        if counts.get("sequence_back", 0):
            report.fail(f"sequence went back {counts['sequence_back']} times (outside snapshot records)")
    if crossed_ok:
        report.notes.append(f"{crossed_ok:,} messages left the book crossed (legal in auctions: counted, not failed)")
    report.notes.append("counts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return report.finish(started)
