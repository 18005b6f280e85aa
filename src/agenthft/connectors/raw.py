"""A connector's raw frames as received, one gzip file per market: `<local ns> <raw JSON>`
lines: hftbacktest's capture format for Binance, the same line form for Hyperliquid's frames
(both read by `agenthft replay` and every data command, their format told by content).
Kept beside the normalised Parquet rows so a parser fix can be replayed on what the venue
really sent."""

from __future__ import annotations

import gzip
from pathlib import Path


class RawCapture:
    """Append frames per market; files are opened on a market's first frame."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, Path] = {}
        self._out: dict[str, gzip.GzipFile] = {}
        self.frames = 0

    def write(self, market: str, recv_ns: int, frame: bytes) -> None:
        out = self._out.get(market)
        if out is None:
            path = self.folder / f"{market.lower()}_{recv_ns}.gz"
            out = self._out[market] = gzip.GzipFile(path, "wb", compresslevel=5)
            self.files[market] = path
        out.write(b"%d %s\n" % (recv_ns, frame.strip()))
        self.frames += 1

    def close(self) -> list[Path]:
        for out in self._out.values():
            out.close()
        self._out.clear()
        return list(self.files.values())
