"""Grids of the instruments in the recorded captures (from the data README and venue specs)."""

from __future__ import annotations

from agenthft.model import Instrument, InstrumentKind

SPOT, PERP = InstrumentKind.SPOT, InstrumentKind.PERP

BINANCE_SPOT_BTCUSDT = Instrument(
    "BTCUSDT", "BTC", "USDT", SPOT, tick_size="0.01", lot_size="0.00000001", aliases=("BTC-USDT",)
)
BINANCE_USDM_BTCUSDT = Instrument(
    "BTCUSDT-PERP", "BTC", "USDT", PERP, tick_size="0.1", lot_size="0.001", aliases=("BTC-PERP", "BTCUSDT")
)
#: COIN-M quantities are contracts of 100 USD.
BINANCE_COINM_BTCUSD = Instrument(
    "BTCUSD_PERP", "BTC", "USD", PERP, tick_size="0.1", lot_size="1", aliases=("BTC-USD-SWAP",)
)

OKX = {
    "BTC-USDT": Instrument("BTC-USDT", "BTC", "USDT", SPOT, tick_size="0.1", lot_size="0.00000001"),
    "BTC-USD-220527": Instrument("BTC-USD-220527", "BTC", "USD", PERP, tick_size="0.1", lot_size="1"),
    "UNI-USD-SWAP": Instrument("UNI-USD-SWAP", "UNI", "USD", PERP, tick_size="0.001", lot_size="1"),
}

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
