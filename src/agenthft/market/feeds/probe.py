"""What a capture is, read from its content, never from its file or folder name.

- `detect_format(path)`: the format from the first bytes and lines (gzip or not, the line
  layout, the venue's URL or message shapes). An unknown file is an error naming what was
  expected.
- `step_of(values)`: a grid inferred from recorded values (the largest step they all share); the
  venue readers use it when no instrument file is given (`binance.probe`, `okx.infer_instruments`).
- `load_instruments(path)`: an instrument file: a Binance `exchangeInfo` JSON, or a TOML of
  `[[markets]]` with Instrument fields (as in the venue config).
"""

from __future__ import annotations

import gzip
import math
import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import msgspec

from agenthft.model import Instrument, InstrumentKind

FORMATS = (
    "binance",
    "okx",
    "kraken",
    "lobster",
    "tardis",
    "databento",
    "hyperliquid",
    "cryptofeed-binance",
    "agenthft",
)


class CaptureFormatError(ValueError):
    """A file no reader understands (the message names the expected formats)."""


def _head(path: Path, n: int = 8) -> list[bytes]:
    opener = gzip.open if is_gzip(path) else open
    lines = []
    with opener(path, "rb") as f:
        for line in f:
            lines.append(line)
            if len(lines) >= n:
                break
    return lines


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def detect_format(path: str | Path) -> str:
    """The capture format of `path`, from its content."""
    p = Path(path)
    try:
        head = _head(p)
    except (OSError, EOFError) as e:
        raise CaptureFormatError(f"{p}: cannot read it ({e})") from None
    if not head:
        raise CaptureFormatError(f"{p}: the file is empty")
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic[:3] == b"DBN":
        return "databento"
    if magic == b"\x28\xb5\x2f\xfd":
        raise CaptureFormatError(f"{p}: zstd-compressed (a Databento .dbn.zst?): decompress it first (zstd -d)")
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(p).metadata or {}
        except (OSError, ValueError) as e:
            raise CaptureFormatError(f"{p}: a damaged Parquet file ({e})") from None
        if b"agenthft.events" not in meta:
            raise CaptureFormatError(f"{p}: a Parquet file, but not an `agenthft record` recording (no row metadata)")
        return "agenthft"
    first = head[0]
    if first.startswith(b"exchange,symbol,timestamp,local_timestamp"):
        return "tardis"
    if first.startswith((b"wss://", b"ws://")):
        url = first.split(b" ", 1)[0].lower()
        if b"okx" in url or b"okex" in url:
            return "okx"
        if b"kraken" in url:
            return "kraken"
        if b"binance" in url:
            return "cryptofeed-binance"
        raise CaptureFormatError(
            f"{p}: a cryptofeed capture of {url.decode(errors='replace')}, which has no reader "
            "(readers: okx, kraken, binance cryptofeed captures)"
        )
    sp = first.find(b" ")
    if sp > 0 and first[:sp].isdigit() and first[sp + 1 :].lstrip().startswith(b"{"):
        body = b"".join(head)
        if b'"stream"' in body or b'"lastUpdateId"' in body:
            return "binance"
        if b'"channel"' in body and (b'"l2Book"' in body or b'"trades"' in body):
            return "hyperliquid"
        raise CaptureFormatError(
            f"{p}: '<timestamp> <json>' lines, but not Binance combined streams ('stream' / 'lastUpdateId')"
        )
    if first.lstrip().startswith(b'{"channel"') and (b'"l2Book"' in first or b'"trades"' in first):
        return "hyperliquid"
    fields = first.strip().split(b",")
    if len(fields) == 6 and all(_is_number(f) for f in fields):
        return "lobster"
    raise CaptureFormatError(
        f"{p}: not a capture this version reads; expected hftbacktest Binance '<ns> <json>' lines (gzip), "
        "a cryptofeed OKX or Kraken raw capture, a LOBSTER message CSV, a Tardis.dev CSV, a Databento DBN file, "
        "Hyperliquid l2Book/trades JSON lines or an `agenthft record` Parquet file"
    )


def _is_number(b: bytes) -> bool:
    try:
        float(b)
    except ValueError:
        return False
    return True


class CaptureInfo(msgspec.Struct, frozen=True):
    instrument: Instrument
    futures: bool  # Binance futures sequencing (pu chains) rather than spot (U == prev u + 1)
    symbol: str  # as the venue names it (stream name, upper case)
    first_ns: int  # the first line's local timestamp (orders files of one market)
    note: str  # where the grid came from


def step_of(values: Iterable[str]) -> str | None:
    """The largest decimal step that every value is a multiple of (zeros ignored), or None."""
    dec = 0
    ints: list[tuple[int, int]] = []
    for v in values:
        d = Decimal(v)
        if not d:
            continue
        t = d.normalize().as_tuple()
        exp = t.exponent
        assert isinstance(exp, int)
        places = max(0, -exp)
        dec = max(dec, places)
        ints.append((int(d.scaleb(places)), places))
    if not ints:
        return None
    if len({n * 10 ** (dec - places) for n, places in ints}) < 2:
        return format(Decimal(1).scaleb(-dec), "f")  # one distinct value: only its precision is known
    g = 0
    for n, places in ints:
        g = math.gcd(g, abs(n) * 10 ** (dec - places))
    step = Decimal(g).scaleb(-dec)
    return format(step.normalize(), "f")


# --- instrument files -----------------------------------------------------------------------


def load_instruments(path: str | Path) -> dict[str, Instrument]:
    """Instruments by symbol from a Binance `exchangeInfo` JSON or a TOML `[[markets]]` file."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as e:
        raise CaptureFormatError(f"instrument file {p}: {e.strerror or e}") from None
    if p.suffix == ".toml" or not text.lstrip().startswith(b"{"):
        try:
            doc = tomllib.loads(text.decode())
            markets = msgspec.convert(doc.get("markets", []), list[Instrument])
        except (tomllib.TOMLDecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError) as e:
            raise CaptureFormatError(f"instrument file {p}: {e}") from None
        return {m.market: m for m in markets}
    try:
        info = msgspec.json.decode(text)
        out = {}
        for s in info["symbols"]:
            filters = {f["filterType"]: f for f in s.get("filters", [])}
            tick = format(Decimal(filters["PRICE_FILTER"]["tickSize"]).normalize(), "f")
            lot = format(Decimal(filters["LOT_SIZE"]["stepSize"]).normalize(), "f")
            futures = s.get("contractType") is not None
            kind = InstrumentKind.PERP if futures else InstrumentKind.SPOT
            base, quote = s.get("baseAsset", "?"), s.get("quoteAsset", "?")
            out[s["symbol"]] = Instrument(s["symbol"], base, quote, kind, tick_size=tick, lot_size=lot)
        return out
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as e:
        raise CaptureFormatError(f"instrument file {p}: not a Binance exchangeInfo document ({e})") from None
