"""One columnar cache: a source decoded once into Parquet (`market.events` rows: int ticks,
lots, ns), re-used by replay, backtest and sweeps, so a second run pays no JSON or CSV parsing.

The key is the content, never a name: SHA-256 of each file read (the named ones and the
companions found beside them, in any order), the reader, the instrument overrides, the
timestamp unit given (`--ts-unit`) and `CACHE_VERSION` (bumped when a reader's output changes). A renamed or
moved file hits; an edited one misses. Writes go to a temporary file renamed into place, so a
reader never sees half a file and parallel sweeps may race to fill the same entry safely.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from agenthft.market.events import Events
from agenthft.model import Instrument

CACHE_VERSION = 2


def default_dir() -> Path:
    env = os.environ.get("AGENTHFT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agenthft" / "events"


def content_key(
    paths: Sequence[str | Path],
    reader: str,
    instruments: dict[str, Instrument] | None = None,
    ts_unit: str | None = None,
) -> str:
    h = hashlib.sha256(f"agenthft-events v{CACHE_VERSION} {reader} ts_unit={ts_unit or 'data'}\n".encode())
    digests = []
    for p in paths:
        with open(p, "rb") as f:
            digests.append(hashlib.file_digest(f, "sha256").digest())
    for d in sorted(set(digests)):
        h.update(d)
    if instruments:
        h.update(msgspec.json.encode(sorted(instruments.items())))
    return h.hexdigest()[:32]


class EventCache:
    """Parquet files of decoded sources under `root`, by content key."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.hits = self.misses = 0

    def path(self, key: str) -> Path:
        return self.root / f"{key}.parquet"

    def get(self, key: str) -> Events | None:
        import pyarrow.parquet as pq

        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return Events.from_arrow(pq.read_table(p))
        except (OSError, ValueError, msgspec.DecodeError):
            return None  # a damaged entry is rebuilt, never trusted

    def put(self, key: str, events: Events) -> Path:
        import pyarrow.parquet as pq

        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(events.to_arrow(), tmp, compression="zstd")
            os.replace(tmp, self.path(key))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.path(key)

    def load(self, key: str, build: Callable[[], Events]) -> Events:
        """The cached rows for `key`, else `build()` them and store them."""
        hit = self.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        events = build()
        self.put(key, events)
        return events
