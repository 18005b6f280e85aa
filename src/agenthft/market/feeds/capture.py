"""Line formats of the recorded captures in ../shared/data, and the shared replay report."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level

#: Called by a reader after each book message it applied: (market, book, bids, asks, local ns,
#: snapshot?). The signals scan uses it to see the same level changes as the verifier.
BookObserver = Callable[[str, L2Book, list[Level], list[Level], int, bool], None]


def hftbacktest_lines(paths: Iterable[str | Path]) -> Iterator[tuple[int, bytes]]:
    """(local receive ns, raw JSON) of hftbacktest collector files, chained in order."""
    for path in paths:
        with gzip.open(path, "rb") as f:
            for line in f:
                sp = line.find(b" ")
                if sp > 0:
                    yield int(line[:sp]), line[sp + 1 :]


def hftbacktest_lines_at(paths: Iterable[str | Path]) -> Iterator[tuple[str, int, int, bytes]]:
    """(file, line number, local receive ns, raw JSON): the same lines, with where they are."""
    for path in paths:
        with gzip.open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                sp = line.find(b" ")
                if sp > 0:
                    yield str(path), n, int(line[:sp]), line[sp + 1 :]


def cryptofeed_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(local receive ns, raw JSON) of messages *received* in a cryptofeed raw capture.

    Lines `<url> <-> ts` (open) and `<url> <- ts: json` (sent) are skipped.
    """
    with open(path, "rb") as f:
        for line in f:
            if not line.strip() or line.startswith((b"wss:", b"ws:", b"http")):
                continue
            colon = line.find(b": ")
            if colon < 0:
                continue
            ts = line[:colon]
            whole, _, frac = ts.partition(b".")
            ns = int(whole) * 1_000_000_000 + int((frac + b"000000000")[:9])
            yield ns, line[colon + 2 :]


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
