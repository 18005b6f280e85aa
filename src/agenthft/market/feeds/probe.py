"""What a capture is, read from its content, never from its file or folder name.

- `CaptureInfo`: what a reader found out about a capture (its instrument, sequencing, units).
  The format itself is detected by `registry.detect_format`, grids by `grid.StepFinder`.
- `load_instruments(path)`: an instrument file: a Binance `exchangeInfo` JSON (spot, USD-M or
  COIN-M: `contractSize`, `marginAsset` and `contractType` make an inverse contract), or a TOML
  of `[[markets]]` with Instrument fields (as in the venue config, `contract_size`, `inverse`,
  `settle` included).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from agenthft.market.events import CaptureFormatError
from agenthft.model import Instrument, InstrumentKind
from agenthft.protocol.binance_usdm.filters import min_notional

__all__ = ["CaptureFormatError", "CaptureInfo", "is_gzip", "load_instruments"]


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


class CaptureInfo(msgspec.Struct, frozen=True):
    instrument: Instrument
    futures: bool  # Binance futures sequencing (pu chains) rather than spot (U == prev u + 1)
    symbol: str  # as the venue names it (stream name, upper case)
    first_ns: int  # the first line's local timestamp (orders files of one market)
    note: str  # where the grid came from
    notes: tuple[str, ...] = ()  # everything else read or assumed: timestamp units, contract, funding
    scales: dict[str, int] = msgspec.field(default_factory=dict)  # ns per unit of each file's local times
    given: bool = False  # the grid is an instrument file's: off-grid levels behind the top are dropped


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
        return {s["symbol"]: _exchange_info_symbol(s) for s in info["symbols"]}
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as e:
        raise CaptureFormatError(f"instrument file {p}: not a Binance exchangeInfo document ({e})") from None


def _exchange_info_symbol(s: dict[str, Any]) -> Instrument:
    """One `symbols[]` entry of a Binance exchangeInfo (spot `api/v3`, USD-M `fapi/v1`, COIN-M
    `dapi/v1`). A futures symbol whose margin asset is its base coin is inverse (COIN-M): its
    `contractSize` is the quote value of one contract (100 USD for BTCUSD_PERP), settled in the
    base coin."""
    filters = {f["filterType"]: f for f in s.get("filters", [])}
    tick = format(Decimal(filters["PRICE_FILTER"]["tickSize"]).normalize(), "f")
    lot = format(Decimal(filters["LOT_SIZE"]["stepSize"]).normalize(), "f")
    futures = s.get("contractType") is not None
    kind = InstrumentKind.PERP if futures else InstrumentKind.SPOT
    base, quote = str(s.get("baseAsset", "?")), str(s.get("quoteAsset", "?"))
    margin = str(s.get("marginAsset") or "")
    size = s.get("contractSize")
    inverse = futures and bool(margin) and margin == base
    contract = format(Decimal(str(size)).normalize(), "f") if futures and size is not None else "1"
    return Instrument(
        str(s["symbol"]),
        base,
        quote,
        kind,
        tick_size=tick,
        lot_size=lot,
        contract_size=contract,
        inverse=inverse,
        settle=margin if futures and margin else "",
        min_notional=min_notional(s),
    )
