"""cryptofeed raw captures of Binance (spot, USD-M or COIN-M): one WebSocket connection
multiplexing many symbols' combined streams per file, and the REST depth snapshots cryptofeed
fetched in the files of its HTTP connection.

cryptofeed's raw data recorder (`AsyncFileCallback`) writes one file per connection, named
`<EXCHANGE>.<ws|http>.<connection number>.<rotation>`: `BINANCE_FUTURES.ws.1.0` for the
WebSocket and `BINANCE_FUTURES.http.0.0` for the REST responses, side by side in one folder
(a file over its rotation size continues in `....1`). Line formats:

    <url> <-> <ts>                 a connection opened
    <url> <- <ts>: <json>          sent (subscriptions)
    <ts>: <json>                   received; ts = local receive time, Unix seconds (float)
    <http url> -> <ts>: <body>     a REST response (the depth snapshot: symbol in the URL query)

Files are paired by content, never by name: a WebSocket capture takes the HTTP captures of
the same Binance market (the hosts: fstream/fapi USD-M, dstream/dapi COIN-M, stream/api spot)
whose snapshot URLs name its symbols at times within its own. Either file may be named;
the other is found beside it. Each symbol is demultiplexed (the stream name's prefix; the
snapshot URL's `symbol=`) into the same (file, line, ns, message) stream the hftbacktest-format
reader takes, so Binance's bridging rules, the grid and the contract are read the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import msgspec

from agenthft.market.events import CaptureFormatError, Events
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import ReplayReport, cryptofeed_unit
from agenthft.market.feeds.files import head_lines, numbered_lines
from agenthft.market.feeds.timestamps import to_ns
from agenthft.model import Instrument

Line = tuple[str, int, int, bytes]  # (file, line number, local ns, raw JSON)
#: a REST snapshot belongs to a WebSocket capture if taken within this of its first..last line
WINDOW_NS = 60 * 10**9


def family(url: bytes | str) -> str | None:
    """Which Binance market a URL is on, from its host: "usdm", "coinm", "spot" or None."""
    text = url.decode(errors="replace") if isinstance(url, bytes) else url
    host = (urlparse(text.split(" ", 1)[0]).hostname or "").lower()
    if "binance" not in host:
        return None
    if "fstream" in host or "fapi" in host:
        return "usdm"
    if "dstream" in host or "dapi" in host:
        return "coinm"
    return "spot"


def is_ws_head(head: list[bytes]) -> bool:
    """A cryptofeed WebSocket capture of Binance: its first line opens a Binance wss:// URL, or
    (a rotated part) received lines carry combined-stream messages."""
    lines = [ln for ln in head if ln.strip() and not ln.startswith(b"configuration:")]
    if not lines:
        return False
    first = lines[0]
    if first.startswith((b"wss://", b"ws://")):
        return family(first) is not None
    ts, sep, body = first.partition(b": ")
    try:
        float(ts)
    except ValueError:
        return False
    return bool(sep) and body.lstrip().startswith(b"{") and b'"stream"' in body


def is_http_head(head: list[bytes]) -> bool:
    """A cryptofeed HTTP capture of Binance: `<https url> -> <ts>: <body>` lines."""
    lines = [ln for ln in head if ln.strip() and not ln.startswith(b"configuration:")]
    return (
        bool(lines)
        and lines[0].startswith((b"http://", b"https://"))
        and b" -> " in lines[0]
        and family(lines[0]) is not None
    )


class WsCapture(msgspec.Struct, frozen=True):
    path: str
    family: str
    symbols: frozenset[str]
    first_ns: int
    last_ns: int
    scale: int
    unit_note: str


class Snapshot(msgspec.Struct, frozen=True):
    line: int
    ns: int
    symbol: str


class HttpCapture(msgspec.Struct, frozen=True):
    path: str
    family: str
    snapshots: tuple[Snapshot, ...]
    scale: int
    unit_note: str


def _streams_of(text: bytes) -> set[str]:
    """Symbols named by stream names in a URL query (`streams=a@depth/b@trade`) or a SUBSCRIBE."""
    out: set[str] = set()
    for token in text.replace(b"/", b" ").replace(b",", b" ").replace(b'"', b" ").replace(b"=", b" ").split():
        if b"@" in token:
            out.add(token.split(b"@", 1)[0].decode(errors="replace").upper())
    return out


def ws_capture(path: str | Path, ts_unit: str | None = None) -> WsCapture:
    """A WebSocket capture's market family, symbols (its URL, subscriptions and first messages)
    and time span."""
    scale, note = cryptofeed_unit(path, ts_unit)
    fam: str | None = None
    symbols: set[str] = set()
    first = last = -1
    futures = False
    for n, line in numbered_lines(path):
        if line.startswith((b"wss://", b"ws://")):
            fam = fam or family(line)
            url, _, rest = line.partition(b" <")
            symbols |= _streams_of(url.partition(b"?")[2])
            if b"SUBSCRIBE" in rest.upper():
                symbols |= _streams_of(rest.partition(b": ")[2])
            continue
        ts, sep, body = line.partition(b": ")
        if not sep or not ts[:1].isdigit():
            continue
        ns = to_ns(ts, scale)
        if first < 0:
            first = ns
        last = ns
        at = body.find(b'"stream":"')
        if at >= 0 and n < 5000:
            symbols.add(body[at + 10 : body.find(b"@", at + 10)].decode(errors="replace").upper())
            futures = futures or b'"pu":' in body
    if fam is None:  # a rotated part has no URL: futures depth diffs carry `pu`, COIN-M symbols a `_`
        fam = ("coinm" if any("_" in s for s in symbols) else "usdm") if futures else "spot"
    return WsCapture(str(path), fam, frozenset(symbols), first, last, scale, note)


def http_capture(path: str | Path, ts_unit: str | None = None) -> HttpCapture:
    """The depth snapshots an HTTP capture holds: (line, local ns, symbol from the URL)."""
    scale, note = cryptofeed_unit(path, ts_unit)
    fam: str | None = None
    snaps: list[Snapshot] = []
    for n, line in numbered_lines(path):
        if not line.startswith((b"http://", b"https://")):
            continue
        url, sep, rest = line.partition(b" -> ")
        ts, _, body = rest.partition(b": ")
        if not sep or b'"lastUpdateId"' not in body:
            continue
        fam = fam or family(url)
        sym = (parse_qs(urlparse(url.decode(errors="replace")).query).get("symbol") or [""])[0].upper()
        if sym:
            snaps.append(Snapshot(n, to_ns(ts, scale), sym))
    return HttpCapture(str(path), fam or "?", tuple(snaps), scale, note)


def pairs(ws: WsCapture, http: HttpCapture) -> bool:
    """Same Binance market, and a snapshot of one of the capture's symbols taken within its span."""
    return ws.family == http.family and any(
        s.symbol in ws.symbols and ws.first_ns - WINDOW_NS <= s.ns <= ws.last_ns + WINDOW_NS for s in http.snapshots
    )


def _beside(paths: Sequence[Path], want: str) -> list[Path]:
    """Files in the folders of `paths` (not `paths` themselves) whose head is a Binance
    cryptofeed capture of kind `want` ("ws" or "http")."""
    check = is_ws_head if want == "ws" else is_http_head
    named = {p.resolve() for p in paths}
    out: list[Path] = []
    for folder in dict.fromkeys(p.resolve().parent for p in paths):
        for f in sorted(folder.iterdir()):
            if not f.is_file() or f.resolve() in named:
                continue
            try:
                if check(head_lines(f, 4)):
                    out.append(f)
            except (OSError, EOFError, ValueError):
                continue
    return out


def group(mains: Sequence[Path], companions: Sequence[Path], ts_unit: str | None = None) -> list[list[Path]]:
    """WebSocket captures (chained when one continues another: same market, shared symbols,
    later in time) with the HTTP captures that pair with them by content. An HTTP capture named
    alone brings the WebSocket captures beside it that it pairs with."""
    ws = [ws_capture(p, ts_unit) for p in mains]
    https = [http_capture(p, ts_unit) for p in companions]
    orphans = [h for h in https if not any(pairs(w, h) for w in ws)]
    if orphans:
        found = [ws_capture(p, ts_unit) for p in _beside([Path(h.path) for h in orphans], "ws")]
        ws += [w for w in found if any(pairs(w, h) for h in orphans)]
        still = [h for h in orphans if not any(pairs(w, h) for w in ws)]
        if still:
            h = still[0]
            syms = ", ".join(sorted({s.symbol for s in h.snapshots})) or "no symbol"
            raise CaptureFormatError(
                f"{h.path}: REST depth snapshots ({len(h.snapshots)} of {syms}) "
                "with no cryptofeed WebSocket capture of the same Binance market, symbols and time beside it: "
                "name the .ws. file too"
            )
    if ws:
        known = {Path(h.path).resolve() for h in https}
        https += [
            c
            for c in (http_capture(p, ts_unit) for p in _beside([Path(w.path) for w in ws], "http"))
            if Path(c.path).resolve() not in known
        ]
    chains: list[list[WsCapture]] = []
    for w in sorted(ws, key=lambda w: w.first_ns):
        for chain in chains:
            tail = chain[-1]
            if tail.family == w.family and tail.symbols & w.symbols and w.first_ns >= tail.last_ns:
                chain.append(w)
                break
        else:
            chains.append([w])
    out = []
    for chain in chains:
        mine = [h.path for h in https if any(pairs(w, h) for w in chain)]
        out.append([Path(w.path) for w in chain] + [Path(p) for p in mine])
    return out


def demux(paths: Sequence[Path], ts_unit: str | None = None) -> tuple[dict[str, list[Line]], list[str]]:
    """(lines per upper-case symbol in local-time order, notes): the WebSocket captures' stream
    messages and the HTTP captures' depth snapshots taken within the WebSocket span."""
    ws = [ws_capture(p, ts_unit) for p in paths if is_ws_head(head_lines(p, 4))]
    http = [http_capture(p, ts_unit) for p in paths if is_http_head(head_lines(p, 4))]
    if not ws:
        raise CaptureFormatError(f"{paths[0]}: no cryptofeed WebSocket capture of Binance among the files")
    lo = min(w.first_ns for w in ws) - WINDOW_NS
    hi = max(w.last_ns for w in ws) + WINDOW_NS
    notes = [w.unit_note for w in ws] + [h.unit_note for h in http]
    out: dict[str, list[Line]] = {}
    for w in ws:
        for n, line in numbered_lines(w.path):
            ts, sep, body = line.partition(b": ")
            if not sep or not ts[:1].isdigit() or not body.startswith(b"{"):
                continue
            start = body.find(b'"stream":"')
            if start < 0:
                continue
            stream = body[start + 10 : body.find(b'"', start + 10)]
            sym = stream.split(b"@", 1)[0].decode().upper()
            out.setdefault(sym, []).append((w.path, n, to_ns(ts, w.scale), body))
    used = 0
    for h in http:
        wanted = {s.line: s for s in h.snapshots if s.symbol in out and lo <= s.ns <= hi}
        if not wanted:
            continue
        for n, line in numbered_lines(h.path):
            snap = wanted.get(n)
            if snap is None:
                continue
            body = line.partition(b" -> ")[2].partition(b": ")[2]
            body = _strip_header(body)
            out[snap.symbol].append((h.path, n, snap.ns, body))
            used += 1
        notes.append(f"{h.path}: {len(wanted)} REST depth snapshot(s) paired by content (symbols and times)")
    for lines in out.values():
        lines.sort(key=lambda x: x[2])
    if http and not used:
        notes.append("no REST depth snapshot in the HTTP captures falls within the WebSocket capture's span")
    return out, notes


def _strip_header(body: bytes) -> bytes:
    """Newer cryptofeed versions append ` header: {json}` to a response when asked for headers."""
    at = body.rfind(b"} header: {")
    return body[: at + 1] if at >= 0 else body


def _symbols_with_depth(by_symbol: dict[str, list[Line]]) -> list[tuple[str, list[Line]]]:
    return [
        (sym, lines)
        for sym, lines in sorted(by_symbol.items())
        if any(b"@depth" in raw[:80] for _, _, _, raw in lines)  # trades or tickers only: no book
    ]


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    by_symbol, notes = demux([Path(p) for p in paths], ts_unit)
    if not by_symbol:
        raise CaptureFormatError(f"{paths[0]}: no Binance combined-stream messages in this cryptofeed capture")
    tables = []
    files = [str(p) for p in paths]
    for symbol, lines in _symbols_with_depth(by_symbol):
        info = binance.probe_lines(_iter(lines), f"{paths[0]} ({symbol})", instruments, notes)
        tables.append(binance.events_from(_iter(lines), files, info, "cryptofeed-binance"))
    if not tables:
        raise CaptureFormatError(f"{paths[0]}: no depth stream for any symbol")
    return Events.merge(tables)


def _iter(lines: list[Line]) -> Iterator[Line]:
    yield from lines


def verify(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> list[ReplayReport]:
    """Per symbol: the book rebuilt from the multiplexed diffs and the HTTP captures' snapshots,
    checked against every bookTicker with the same update id (Binance's oracle)."""
    files = [str(p) for p in paths]
    by_symbol, notes = demux([Path(p) for p in paths], ts_unit)
    reports = []
    for symbol, lines in _symbols_with_depth(by_symbol):
        info = binance.probe_lines(_iter(lines), f"{paths[0]} ({symbol})", instruments, notes)
        reports.append(binance.verify_from(_iter(lines), files, info, venue_format="cryptofeed-binance"))
    return reports
