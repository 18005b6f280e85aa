from __future__ import annotations

import pytest

from agenthft.matching import EngineConfig, MatchingEngine, text_to_cash
from agenthft.model import Instrument, InstrumentKind

PERP = Instrument(
    "BTC-PERP",
    "BTC",
    "USDC",
    InstrumentKind.PERP,
    tick_size="0.1",
    lot_size="0.001",
    maker_fee="-0.0001",
    taker_fee="0.0005",
)
SPOT = Instrument("ETH-USDC", "ETH", "USDC", InstrumentKind.SPOT, tick_size="0.01", lot_size="0.01", taker_fee="0.001")


def make_engine(**cfg: object) -> MatchingEngine:
    e = MatchingEngine([PERP, SPOT], EngineConfig(**cfg))  # type: ignore[arg-type]
    for a in ("a", "b", "c"):
        e.deposit(a, "USDC", text_to_cash("10000000"))
        e.deposit(a, "ETH", text_to_cash("1000"))
    return e


@pytest.fixture
def engine() -> MatchingEngine:
    return make_engine()
