"""Readers of recorded exchange captures, each verifying the rebuilt book against the
capture's own oracle (bookTicker, checksums or recorded book rows)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.market.feeds import binance, kraken, lobster, okx, probe
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.probe import FORMATS
from agenthft.model import Instrument


def detect_format(path: str | Path) -> str:
    """The capture's format, from its content (`probe.detect_format`)."""
    return probe.detect_format(path)


def verify_files(
    paths: Sequence[str | Path], venue_format: str | None = None, instruments: dict[str, Instrument] | None = None
) -> list[ReplayReport]:
    """Replay and verify captures. Binance files of one market are chained into one book (in
    the order of their timestamps); other formats give one report per file."""
    fmt = venue_format or detect_format(paths[0])
    if fmt == "binance":
        from agenthft.venue.replaydriver import group_captures

        return [binance.verify(files, instruments=instruments) for _, files in group_captures(paths, instruments)]
    if fmt == "okx":
        return [okx.verify(p) for p in paths]
    if fmt == "kraken":
        return [kraken.verify(p) for p in paths]
    if fmt == "lobster":
        messages = [p for p in paths if "_orderbook_" not in Path(p).name]
        return [r for p in messages for r in (lobster.verify(p), lobster.verify_engine(p))]
    if fmt == "cryptofeed-binance":
        from agenthft.market.feeds import cryptofeed_binance

        return [r for p in paths for r in cryptofeed_binance.verify([p], instruments)]
    if fmt in ("tardis", "databento", "hyperliquid", "agenthft"):
        from agenthft.market.feeds.rowcheck import verify_rows
        from agenthft.market.sources import groups

        return [verify_rows(f, g, instruments) for f, g in groups(paths, instruments)]
    raise ValueError(f"unknown venue format {fmt!r}; one of {', '.join(FORMATS)}")


def discover(data: str | Path) -> list[tuple[str, list[Path]]]:
    """Every capture under `data` that a reader understands, found by content: (format, files),
    Binance files grouped per market and chained by time. Other files are skipped."""
    found: dict[str, list[Path]] = {}
    for path in sorted(p for p in Path(data).rglob("*") if p.is_file()):
        try:
            fmt = detect_format(path)
        except (probe.CaptureFormatError, OSError, UnicodeDecodeError):
            continue
        found.setdefault(fmt, []).append(path)
    out: list[tuple[str, list[Path]]] = []
    if "binance" in found:
        from agenthft.venue.replaydriver import group_captures

        out += [("binance", files) for _, files in group_captures(found["binance"])]
    out += [(fmt, [p]) for fmt in FORMATS if fmt != "binance" for p in found.get(fmt, [])]
    return out


def shared_captures(data: str | Path) -> list[list[Path]]:
    """The checkable captures under `data`, grouped as they must be replayed (by content)."""
    return [files for _, files in discover(data)]


__all__ = ["FORMATS", "ReplayReport", "detect_format", "discover", "shared_captures", "verify_files"]
