"""Instruments a capture format cannot state itself.

Binance and OKX captures state their markets and their grids are inferred from the data
(`probe.py`, `okx.infer_instruments`); Kraken's from the precision it prints. LOBSTER's files
carry prices as integers x 10,000 with no tick; NASDAQ's one-cent tick is the format's rule."""

from __future__ import annotations

from agenthft.model import Instrument, InstrumentKind

SPOT, PERP = InstrumentKind.SPOT, InstrumentKind.PERP

#: NASDAQ AAPL in LOBSTER's files: prices are USD x 10,000 with a one-cent tick.
LOBSTER_AAPL = Instrument("AAPL", "AAPL", "USD", SPOT, tick_size="0.01", lot_size="1")


def printed_grid_instrument(market: str, price: str, qty: str, kind: InstrumentKind = SPOT) -> Instrument:
    """An instrument whose grid is the precision a feed prints (Kraken prints fixed decimals
    per pair and checksums over exactly those digits)."""
    base, _, quote = market.partition("/")

    def step(text: str) -> str:
        _, _, frac = text.partition(".")
        return f"0.{'0' * (len(frac) - 1)}1" if frac else "1"

    return Instrument(market, base, quote or "?", kind, tick_size=step(price), lot_size=step(qty))
