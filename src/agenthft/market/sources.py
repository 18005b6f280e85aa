"""Recorded data as normalised rows, whatever the source: the one entry point the backtest,
sweeps, the venue replay and benches use (`load_events`). Each file's format is read from its
content (`feeds.registry`); files of one market are chained, companion files paired by content;
the result is cached as Parquet, keyed by the content of every file actually read
(`market.cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.market.cache import EventCache, content_key
from agenthft.market.events import CaptureFormatError, Events
from agenthft.market.feeds import registry
from agenthft.market.feeds.registry import ReadOptions
from agenthft.market.feeds.timestamps import check_unit
from agenthft.model import Instrument


def event_formats() -> tuple[str, ...]:
    """The formats read as rows."""
    return registry.ROW_FORMATS


def groups(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> list[tuple[str, list[Path]]]:
    """(format, files) to decode together (`registry.groups`)."""
    return registry.groups(paths, ReadOptions(instruments, ts_unit))


def read_events(
    fmt: str, files: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    """One group of files of one format, decoded (no cache)."""
    return registry.read_group(fmt, [Path(f) for f in files], ReadOptions(instruments, ts_unit))


def load_events(
    paths: Sequence[str | Path],
    instruments: dict[str, Instrument] | None = None,
    cache: EventCache | None = None,
    ts_unit: str | None = None,
) -> Events:
    """Every file decoded and merged into one time-ordered table of L2 rows (L3 sources are
    aggregated: `market.l3.to_l2`). `ts_unit` ("s", "ms", "us", "ns") is the unit of the local
    timestamps for data that cannot say (each reader's notes say what it found). With `cache`,
    the result is keyed by the content of every file read (companions found beside the named
    ones included), the reader version, the instruments and `ts_unit`: a hit skips the parsing.

    A file that yields no rows is an error that says why (nothing is backtested in silence)."""
    if not paths:
        raise CaptureFormatError("no data files given")
    check_unit(ts_unit)
    opts = ReadOptions(instruments, ts_unit)
    found = registry.groups(paths, opts)
    if cache is None:
        return _decode(found, opts)
    read = [f for _, files in found for f in files]
    return cache.load(content_key(read, "load", instruments, ts_unit), lambda: _decode(found, opts))


def _decode(found: list[tuple[str, list[Path]]], opts: ReadOptions) -> Events:
    from agenthft.market.l3 import to_l2

    tables = []
    for fmt, files in found:
        ev = registry.read_group(fmt, files, opts)
        if not len(ev):
            raise CaptureFormatError(f"{', '.join(map(str, files))}: 0 rows from {fmt} data: {_why_empty(ev)}")
        tables.append(ev)
    return to_l2(Events.merge(tables))


def _why_empty(ev: Events) -> str:
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(ev.meta.counts.items())) or "no messages of a kind it reads"
    return f"nothing to replay (read: {counts}; {'; '.join(ev.meta.notes[-2:]) or 'no notes'})"
