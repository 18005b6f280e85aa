"""Line formats of the recorded captures in ../shared/data, and the shared replay report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.feeds.files import compression, numbered_lines, open_bytes, tail_bytes
from agenthft.market.feeds.timestamps import SCALE, UnitFinder, to_ns

#: Called by a reader after each book message it applied: (market, book, bids, asks, local ns,
#: snapshot?). The signals scan uses it to see the same level changes as the verifier.
BookObserver = Callable[[str, L2Book, list[Level], list[Level], int, bool], None]


def hftbacktest_lines(paths: Iterable[str | Path]) -> Iterator[tuple[int, bytes]]:
    """(local receive time as recorded, raw JSON) of hftbacktest collector files (gzip, zstd or
    plain, by content), chained in order. The time's unit is the file's (`binance.identify`)."""
    for path in paths:
        with open_bytes(path) as f:
            for line in f:
                sp = line.find(b" ")
                if sp > 0:
                    yield int(line[:sp]), line[sp + 1 :]


def hftbacktest_lines_at(paths: Iterable[str | Path]) -> Iterator[tuple[str, int, int, bytes]]:
    """(file, line number, local receive time as recorded, raw JSON): the same lines, with where
    they are."""
    for path in paths:
        for n, line in numbered_lines(path):
            sp = line.find(b" ")
            if sp > 0:
                yield str(path), n, int(line[:sp]), line[sp + 1 :]


def cryptofeed_lines(path: str | Path, scale: int = SCALE["s"]) -> Iterator[tuple[int, bytes]]:
    """(local receive ns, raw JSON) of messages *received* in a cryptofeed raw capture, its
    times in the unit of `scale` ns (cryptofeed writes float seconds: `cryptofeed_unit`).

    Lines `<url> <-> ts` (open), `<url> <- ts: json` (sent), `<url> -> ts: body` (a REST
    response) and older versions' `configuration: ...` header are skipped.
    """
    for _, ns, body in cryptofeed_lines_at(path, scale):
        yield ns, body


def cryptofeed_lines_at(path: str | Path, scale: int = SCALE["s"]) -> Iterator[tuple[int, int, bytes]]:
    """(line number, local receive ns, raw JSON): `cryptofeed_lines` with where each line is."""
    for n, line in numbered_lines(path):
        if not line or line.startswith((b"wss:", b"ws:", b"http")):
            continue
        colon = line.find(b": ")
        if colon <= 0 or not line[:1].isdigit():
            continue
        yield n, to_ns(line[:colon], scale), line[colon + 2 :]


def cryptofeed_unit(path: str | Path, ts_unit: str | None = None, samples: int = 64) -> tuple[int, str]:
    """(ns per unit, note) of a cryptofeed capture's local times: by magnitude over its first and
    last received lines (cryptofeed writes `time.time()`: float seconds)."""
    finder = UnitFinder()
    for _, line in numbered_lines(path):
        ts = _cf_time(line)
        if ts is not None:
            finder.add(ts)
            if finder.n >= samples:
                break
    if compression(path) == "":
        for line in reversed(tail_bytes(path, 1 << 16).splitlines()[1:]):
            ts = _cf_time(line)
            if ts is not None:
                finder.add(ts)
                break
    unit, note = finder.decide(str(path), ts_unit)
    return SCALE[unit], note


def _cf_time(line: bytes) -> float | None:
    """The time of a received line (`<ts>: ...`) or a REST response (`<url> -> <ts>: ...`)."""
    if line.startswith((b"http://", b"https://")):
        line = line.partition(b" -> ")[2]
    colon = line.find(b": ")
    if colon <= 0 or not line[:1].isdigit():
        return None
    try:
        return float(line[:colon])
    except ValueError:
        return None


class ReplayReport(msgspec.Struct):
    """What a replay verified. `checks_*` count comparisons against the capture's own oracle
    (bookTicker, checksum or recorded book row); `gaps` and `crossed` should be zero."""

    venue_format: str
    files: list[str]
    check: str
    events: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    gaps: int = 0
    crossed: int = 0
    seconds: float = 0.0
    events_per_s: float = 0.0
    markets: list[str] = msgspec.field(default_factory=list)
    failures: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)  # what was inferred, and from what

    def fail(self, message: str) -> None:
        self.checks_failed += 1
        if len(self.failures) < 10:
            self.failures.append(message)

    def finish(self, started: float) -> ReplayReport:
        self.seconds = time.perf_counter() - started
        self.events_per_s = self.events / self.seconds if self.seconds > 0 else 0.0
        return self

    @property
    def ok(self) -> bool:
        return self.checks_failed == 0 and self.gaps == 0 and self.crossed == 0 and self.checks_passed > 0
