"""The venue's markets as Hyperliquid names them: coins and asset ids.

- **Perps** are named by their base asset ("BTC" for BTC-PERP) and numbered in the order of the
  venue's markets (asset = index in `meta.universe`). A second perp on the same base (BTC-PERP
  settled in USDC and a BTC-USDT perp, say) cannot also be "BTC": it keeps its market name
  ("BTC-USDT-PERP") as its coin, as Hyperliquid's builder-deployed perps carry a prefix. Only
  linear perps of contract size 1 are listed (Hyperliquid has no inverse or multiplied perps).
- **Spot** pairs are "@<index>" (the first, index 0, "BASE/QUOTE", as PURR/USDC is on
  Hyperliquid), asset = 10000 + index; `spotMeta.tokens` lists USDC first, then every other
  asset of a spot pair.
- **szDecimals** is the lot's number of decimals; a price may have `6 - szDecimals` decimals
  (8 for spot) and 5 significant figures (`protocol/hyperliquid/rules.py`). A market whose tick
  is finer than that step is left out (its book could show prices no Hyperliquid client can
  read on its grid); one whose lot is no power of ten is listed, and sizes off its lot are
  refused ("Order has invalid size.").
"""

from __future__ import annotations

from decimal import Decimal

from agenthft.model import Instrument, InstrumentKind
from agenthft.model.fixed import decimals_of
from agenthft.protocol.hyperliquid import rules
from agenthft.protocol.hyperliquid.wire import SPOT_ASSET_OFFSET


class Coin:
    """One market as the Hyperliquid front names and formats it."""

    __slots__ = ("asset", "index", "inst", "market", "name", "px_decimals", "spot", "sz_decimals")

    def __init__(self, inst: Instrument, name: str, index: int, spot: bool) -> None:
        self.inst = inst
        self.market = inst.market
        self.name = name
        self.index = index
        self.spot = spot
        self.asset = SPOT_ASSET_OFFSET + index if spot else index
        self.sz_decimals = rules.sz_decimals_of(inst.lot_size)
        self.px_decimals = rules.price_decimals(self.sz_decimals, spot)

    def px(self, ticks: int) -> str:
        return self.inst.grid.ticks_to_price(ticks)

    def sz(self, lots: int) -> str:
        return self.inst.grid.lots_to_qty(lots)

    def avg(self, value: int, lots: int) -> str:
        """The average price of fills worth `value` (ticks x lots) over `lots`."""
        if not lots:
            return "0"
        d = Decimal(value) / Decimal(lots) * Decimal(self.inst.tick_size)
        return format(d.quantize(Decimal(1).scaleb(-(self.inst.grid.tick_decimals + 4))).normalize(), "f")

    def __repr__(self) -> str:
        return f"Coin({self.name} asset={self.asset} {self.market})"


class Coins:
    """Every coin of a venue, by name, asset id and venue market; `notes` says what was left out
    or renamed."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self.perps: list[Coin] = []
        self.spots: list[Coin] = []
        self.notes: list[str] = []
        self.tokens: list[tuple[str, int]] = [("USDC", 8)]  # (name, szDecimals), index = position
        names: set[str] = set()
        for inst in instruments:
            if inst.kind is InstrumentKind.SPOT:
                continue
            if inst.inverse or Decimal(inst.contract_size) != 1:
                self.notes.append(f"{inst.market}: not listed (Hyperliquid has only linear perps of size 1)")
                continue
            if not self._fits(inst, False):
                continue
            name = inst.base if inst.base not in names else inst.market
            if name != inst.base:
                self.notes.append(f"{inst.market}: coin {name!r} (another perp is {inst.base!r})")
            names.add(name)
            self.perps.append(Coin(inst, name, len(self.perps), False))
        for inst in instruments:
            if inst.kind is not InstrumentKind.SPOT or not self._fits(inst, True):
                continue
            for asset, szd in ((inst.base, rules.sz_decimals_of(inst.lot_size)), (inst.quote, 8)):
                if asset not in (t for t, _ in self.tokens):
                    self.tokens.append((asset, szd))
            i = len(self.spots)
            self.spots.append(Coin(inst, f"{inst.base}/{inst.quote}" if i == 0 else f"@{i}", i, True))
        self.by_name = {c.name: c for c in (*self.perps, *self.spots)}
        self.by_asset = {c.asset: c for c in (*self.perps, *self.spots)}
        self.by_market = {c.market: c for c in (*self.perps, *self.spots)}
        for c in self.spots:  # "BASE/QUOTE" finds an "@N" pair too (the SDK's name_to_coin)
            self.by_name.setdefault(f"{c.inst.base}/{c.inst.quote}", c)

    def _fits(self, inst: Instrument, spot: bool) -> bool:
        step = rules.price_decimals(rules.sz_decimals_of(inst.lot_size), spot)
        if decimals_of(inst.tick_size) > step:
            self.notes.append(
                f"{inst.market}: not listed (tick {inst.tick_size} is finer than the 10^-{step} a price may "
                f"have with lot {inst.lot_size})"
            )
            return False
        return True

    def token_index(self, asset: str) -> int:
        for i, (name, _) in enumerate(self.tokens):
            if name == asset:
                return i
        return -1
