"""Readers of recorded exchange captures, each verifying the rebuilt book against the
capture's own oracle (bookTicker, checksums or recorded book rows). Formats, their detection,
grouping, verification and row readers are one registry (`registry.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agenthft.market.feeds import probe, registry
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.registry import MAIN_FORMATS, ReadOptions
from agenthft.market.feeds.timestamps import check_unit
from agenthft.model import Instrument

#: the formats `agenthft replay --venue-format` takes (companion formats are read beside them)
FORMATS = MAIN_FORMATS


def detect_format(path: str | Path) -> str:
    """The capture's format, from its content (`registry.detect_format`)."""
    return registry.detect_format(path)


def verify_files(
    paths: Sequence[str | Path],
    venue_format: str | None = None,
    instruments: dict[str, Instrument] | None = None,
    ts_unit: str | None = None,
) -> list[ReplayReport]:
    """Replay and verify captures: each file's format from its content (or `venue_format`),
    grouped as the registry says (Binance files of one market chained; companions paired by
    content); one report per group (per symbol for multiplexed captures). A non-empty file that
    yields no events is an error that says so."""
    check_unit(ts_unit)
    opts = ReadOptions(instruments, ts_unit)
    reports: list[ReplayReport] = []
    for fmt, files in registry.groups(paths, opts, venue_format):
        try:
            got = registry.verify_group(fmt, files, opts)
        except (probe.CaptureFormatError, ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
            if venue_format is None:
                raise
            found = {registry.detect_format(f) for f in files} - {fmt}
            said = f"; its content reads as {', '.join(sorted(found))}" if found else ""
            raise probe.CaptureFormatError(
                f"cannot read {files[0]} as {fmt} (--venue-format{said}; omit it to read the format from the "
                f"content): {e}"
            ) from None
        if not got or not any(r.events for r in got):
            raise probe.CaptureFormatError(
                f"{', '.join(map(str, files))}: no {fmt} events to replay in a non-empty input "
                f"({'no book for any symbol' if not got else 'no message of a kind the reader takes'})"
            )
        reports += got
    return reports


def discover(data: str | Path) -> list[tuple[str, list[Path]]]:
    """Every capture under `data` that a reader understands, found by content: (format, files),
    grouped as `verify_files` groups them. Other files are skipped."""
    found: list[Path] = []
    for path in sorted(p for p in Path(data).rglob("*") if p.is_file()):
        try:
            registry.detect_format(path)
        except (probe.CaptureFormatError, OSError, UnicodeDecodeError):
            continue
        found.append(path)
    return registry.groups(found) if found else []


def shared_captures(data: str | Path) -> list[list[Path]]:
    """The checkable captures under `data`, grouped as they must be replayed (by content)."""
    return [files for _, files in discover(data)]


__all__ = ["FORMATS", "ReplayReport", "detect_format", "discover", "shared_captures", "verify_files"]
