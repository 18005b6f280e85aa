"""cryptofeed raw captures of Binance (spot or futures): one WebSocket connection multiplexing
many symbols' combined streams in one file, and the REST depth snapshots cryptofeed fetched in
the `.http` file beside it (or in the same file).

Line formats (cryptofeed's raw data recorder, `AsyncFileCallback`):
    <url> <-> <ts>                 a connection opened
    <url> <- <ts>: <json>          sent (subscriptions)
    <ts>: <json>                   received; ts = local receive time, Unix seconds (float)
    <http url> -> <ts>: <body>     a REST response (the depth snapshot: symbol in the URL query)

Each symbol is demultiplexed (the stream name's prefix; the snapshot URL's `symbol=`) into the
same (file, line, ns, message) stream the hftbacktest-format reader takes, so Binance's bridging
rules, the market's grid and spot/futures sequencing are read the same way (`binance.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from agenthft.market.events import Events
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.probe import CaptureFormatError
from agenthft.model import Instrument

Line = tuple[str, int, int, bytes]  # (file, line number, local ns, raw JSON)


def _ns(ts: bytes) -> int:
    whole, _, frac = ts.strip().partition(b".")
    return int(whole) * 1_000_000_000 + int((frac + b"000000000")[:9])


def http_file(path: Path) -> Path | None:
    """The `.http` file cryptofeed writes beside a WebSocket capture, if there is one."""
    beside = path.with_name(path.name + ".http")
    return beside if beside.is_file() else None


def demux(paths: Sequence[Path]) -> dict[str, list[Line]]:
    """Lines per upper-case symbol, in local-time order (snapshots and stream messages merged)."""
    out: dict[str, list[Line]] = {}
    files = list(paths) + [h for p in paths if (h := http_file(p)) is not None and h not in paths]
    for path in files:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip(b"\n")
                if not line.strip():
                    continue
                if line.startswith((b"http://", b"https://")):
                    url, sep, rest = line.partition(b" -> ")
                    ts, _, body = rest.partition(b": ")
                    if not sep or not body:
                        continue
                    query = parse_qs(urlparse(url.decode(errors="replace")).query)
                    sym = (query.get("symbol") or [""])[0].upper()
                    if sym and b'"lastUpdateId"' in body:
                        out.setdefault(sym, []).append((str(path), n, _ns(ts), body))
                    continue
                if line.startswith((b"wss:", b"ws:")):
                    continue  # connection opened / subscription sent
                ts, sep, body = line.partition(b": ")
                if not sep or not body.startswith(b"{"):
                    continue
                start = body.find(b'"stream":"')
                if start < 0:
                    continue
                stream = body[start + 10 : body.find(b'"', start + 10)]
                sym = stream.split(b"@", 1)[0].decode().upper()
                out.setdefault(sym, []).append((str(path), n, _ns(ts), body))
    for lines in out.values():
        lines.sort(key=lambda x: x[2])
    return out


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    by_symbol = demux([Path(p) for p in paths])
    if not by_symbol:
        raise CaptureFormatError(f"{paths[0]}: no Binance combined-stream messages in this cryptofeed capture")
    tables = []
    files = [str(p) for p in paths]
    for symbol, lines in sorted(by_symbol.items()):
        if not any(b"@depth" in raw[:80] for _, _, _, raw in lines):
            continue  # trades or tickers only: no book to rebuild
        info = binance.probe_lines(iter(lines), f"{paths[0]} ({symbol})", instruments)
        tables.append(binance.events_from(_iter(lines), files, info))
    if not tables:
        raise CaptureFormatError(f"{paths[0]}: no depth stream for any symbol")
    return Events.merge(tables)


def _iter(lines: list[Line]) -> Iterator[Line]:
    yield from lines


def verify(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> list[ReplayReport]:
    """Per symbol: the book rebuilt from the multiplexed diffs and the `.http` snapshots, checked
    against every bookTicker with the same update id (Binance's oracle, as for `binance.verify`)."""
    files = [str(p) for p in paths]
    reports = []
    for symbol, lines in sorted(demux([Path(p) for p in paths]).items()):
        if not any(b"@depth" in raw[:80] for _, _, _, raw in lines):
            continue
        info = binance.probe_lines(iter(lines), f"{paths[0]} ({symbol})", instruments)
        reports.append(binance.verify_from(_iter(lines), files, info, venue_format="cryptofeed-binance"))
    return reports
