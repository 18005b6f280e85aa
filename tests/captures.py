"""Test helpers: captures written the way the real tools write them, from the shared real data
(never shipped: generated in a test's tmp_path).

- `hftbacktest_lines`: the shared hftbacktest captures' lines (local ns, raw JSON).
- `write_hftbacktest`: those lines as an hftbacktest collector file, its local times in any
  unit (the collector's older raw format stamps µs), gzip or plain.
- `write_cryptofeed`: the same messages as cryptofeed's raw data recorder writes them, one file
  per connection: `<EXCHANGE>.ws.<n>.0` (the WebSocket: opened, subscribed, received lines) and
  `<EXCHANGE>.http.<n>.0` (the REST depth snapshots, `<url> -> <ts>: <body>`), times as
  `time.time()` floats.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

DIVISOR = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def hftbacktest_lines(path: Path, limit: int | None = None) -> Iterator[tuple[int, str]]:
    with gzip.open(path, "rt") as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                break
            ns, _, body = line.rstrip("\n").partition(" ")
            yield int(ns), body


def write_hftbacktest(path: Path, lines: Iterable[tuple[int, str]], unit: str = "ns", compress: bool = True) -> Path:
    """`<local time> <json>` lines, the time an integer in `unit` (what the collector writes)."""
    text = "".join(f"{ns // DIVISOR[unit]} {body}\n" for ns, body in lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


def _secs(ns: int) -> str:
    return repr(ns / 1e9)  # cryptofeed writes time.time(): a float's shortest repr


HOSTS = {
    "usdm": ("wss://fstream.binance.com/stream", "https://fapi.binance.com/fapi/v1/depth"),
    "coinm": ("wss://dstream.binance.com/stream", "https://dapi.binance.com/dapi/v1/depth"),
    "spot": ("wss://stream.binance.com:9443/stream", "https://api.binance.com/api/v3/depth"),
}


def write_cryptofeed(
    folder: Path,
    captures: list[Path],
    exchange: str = "BINANCE_FUTURES",
    family: str = "usdm",
    ws_conn: int = 1,
    http_conn: int = 0,
    lines_each: int | None = None,
) -> tuple[Path, Path]:
    """The captures' messages multiplexed on one cryptofeed WebSocket connection file and their
    REST snapshots in the HTTP connection file beside it: (ws file, http file)."""
    ws_url, rest_url = HOSTS[family]
    received: list[tuple[int, str]] = []
    http: list[tuple[int, str]] = []
    streams: list[str] = []
    for cap in captures:
        symbol = ""
        for ns, body in hftbacktest_lines(cap, lines_each):
            msg = json.loads(body)
            if "stream" in msg:
                symbol = symbol or msg["stream"].split("@")[0]
                if msg["stream"] not in streams:
                    streams.append(msg["stream"])
                received.append((ns, f"{_secs(ns)}: {body}"))
            else:
                http.append((ns, f"{rest_url}?symbol={symbol.upper()}&limit=1000 -> {_secs(ns)}: {body}"))
    received.sort(key=lambda x: x[0])
    t0 = received[0][0] - 10**9
    sub = json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}, separators=(",", ":"))
    folder.mkdir(parents=True, exist_ok=True)
    ws = folder / f"{exchange}.ws.{ws_conn}.0"
    ws.write_text(
        f"{ws_url} <-> {_secs(t0)}\n{ws_url} <- {_secs(t0 + 10**6)}: {sub}\n" + "\n".join(x for _, x in received) + "\n"
    )
    rest = folder / f"{exchange}.http.{http_conn}.0"
    rest.write_text("\n".join(x for _, x in sorted(http)) + "\n")
    return ws, rest
