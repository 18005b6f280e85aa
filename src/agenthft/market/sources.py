"""Recorded data as normalised rows, whatever the source: the one entry point the backtest,
sweeps and benches use (`load_events`). Each file's format is read from its content; files of
one market are chained; the result is cached as Parquet by content (`market.cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from agenthft.market.cache import EventCache, content_key
from agenthft.market.events import Events
from agenthft.market.feeds import probe
from agenthft.model import Instrument

Reader = Callable[[Sequence[str | Path], dict[str, Instrument] | None], Events]


def _readers() -> dict[str, Reader]:
    from agenthft.market.feeds import binance, cryptofeed_binance, databento, hyperliquid, recorded, tardis

    return {
        "binance": binance.events,
        "tardis": tardis.events,
        "databento": databento.events,
        "hyperliquid": hyperliquid.events,
        "cryptofeed-binance": cryptofeed_binance.events,
        "agenthft": recorded.events,
    }


def event_formats() -> tuple[str, ...]:
    return tuple(_readers())


def groups(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None
) -> list[tuple[str, list[Path]]]:
    """(format, files) to decode together: Binance files per market chained by time, Tardis
    files of one data type per file, everything else one file each."""
    by_fmt: dict[str, list[Path]] = {}
    for p in map(Path, paths):
        by_fmt.setdefault(probe.detect_format(p), []).append(p)
    out: list[tuple[str, list[Path]]] = []
    for fmt, files in by_fmt.items():
        if fmt == "binance":
            from agenthft.venue.replaydriver import group_captures

            out += [("binance", g) for _, g in group_captures(files, instruments)]
        else:
            out += [(fmt, [f]) for f in files]
    return out


def read_events(fmt: str, files: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    """One group of files of one format, decoded (no cache)."""
    reader = _readers().get(fmt)
    if reader is None:
        raise probe.CaptureFormatError(
            f"{files[0]}: {fmt} captures are verified by `agenthft replay` but not yet decoded to rows "
            f"(row readers: {', '.join(_readers())})"
        )
    return reader(files, instruments)


def load_events(
    paths: Sequence[str | Path],
    instruments: dict[str, Instrument] | None = None,
    cache: EventCache | None = None,
    ts_unit: str | None = None,
) -> Events:
    """Every file decoded and merged into one time-ordered table of L2 rows (L3 sources are
    aggregated: `market.l3.to_l2`). With `cache`, the result is keyed by the files' content:
    a hit skips the parsing, the probing and the grouping."""
    if not paths:
        raise probe.CaptureFormatError("no data files given")
    if cache is None:
        return _decode(paths, instruments)
    return cache.load(content_key(paths, "load", instruments), lambda: _decode(paths, instruments))


def _decode(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None) -> Events:
    from agenthft.market.l3 import to_l2

    tables = [read_events(fmt, files, instruments) for fmt, files in groups(paths, instruments)]
    return to_l2(Events.merge(tables))
