"""Files written by `agenthft record`: normalised rows in Parquet, rolled by size or time.
They are already in the cache's form, so reading one is reading the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.market.events import CaptureFormatError, Events
from agenthft.model import Instrument


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    import pyarrow.parquet as pq

    tables = []
    for p in paths:
        try:
            tables.append(Events.from_arrow(pq.read_table(p)))
        except (OSError, ValueError) as e:
            raise CaptureFormatError(f"{p}: not an agenthft recording ({e})") from None
    out = Events.merge(tables)
    out.meta.notes.append(f"{', '.join(map(str, paths))}: times in ns (agenthft rows, by the format)")
    return out
