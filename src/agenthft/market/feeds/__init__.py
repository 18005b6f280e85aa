"""Readers of recorded exchange captures, each verifying the rebuilt book against the
capture's own oracle (bookTicker, checksums or recorded book rows)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.market.feeds import binance, kraken, lobster, okx
from agenthft.market.feeds.capture import ReplayReport

FORMATS = ("binance", "okx", "kraken", "lobster")


def detect_format(path: str | Path) -> str:
    """Guess a capture's format from its name (hftbacktest .gz, cryptofeed OKX/KRAKEN, LOBSTER)."""
    name = Path(path).name
    if name.endswith(".gz"):
        return "binance"
    if name.upper().startswith("OKX"):
        return "okx"
    if name.upper().startswith("KRAKEN"):
        return "kraken"
    if "_message_" in name or "_orderbook_" in name:
        return "lobster"
    raise ValueError(f"cannot tell the format of {path}; pass --venue-format ({', '.join(FORMATS)})")


def verify_files(paths: Sequence[str | Path], venue_format: str | None = None) -> list[ReplayReport]:
    """Replay and verify captures. Binance files are chained into one book (0808 then 0809);
    other formats give one report per file."""
    fmt = venue_format or detect_format(paths[0])
    if fmt == "binance":
        return [binance.verify(paths)]
    if fmt == "okx":
        return [okx.verify(p) for p in paths]
    if fmt == "kraken":
        return [kraken.verify(p) for p in paths]
    if fmt == "lobster":
        messages = [p for p in paths if "_orderbook_" not in Path(p).name]
        return [r for p in messages for r in (lobster.verify(p), lobster.verify_engine(p))]
    raise ValueError(f"unknown venue format {fmt!r}; one of {', '.join(FORMATS)}")


def shared_captures(data: str | Path) -> list[list[Path]]:
    """The checkable captures of ../shared/data, grouped as they must be replayed."""
    d = Path(data)
    hb = d / "hftbacktest"
    lob = d / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
    return [
        [hb / "spot/btcusdt_20240808.gz", hb / "spot/btcusdt_20240809.gz"],
        [hb / "usdm/btcusdt_20240808.gz"],
        [hb / "cm/btcusd_perp_20240808.gz", hb / "cm/btcusd_perp_20240809.gz"],
        [d / "cryptofeed/OKX.ws.1.0"],
        [d / "cryptofeed/KRAKEN.ws.50.0"],
        [lob],
    ]


__all__ = ["FORMATS", "ReplayReport", "detect_format", "shared_captures", "verify_files"]
