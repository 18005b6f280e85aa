"""Simulated market: a fair value, participants acting through the matching engine, labels."""

from agenthft.market.sim.fair import FairValue
from agenthft.market.sim.participants import (
    Absorber,
    CascadeBeforeDrop,
    Episode,
    Iceberg,
    InformedTrader,
    MarketMaker,
    NoiseTaker,
    Participant,
    Spoofer,
)
from agenthft.market.sim.simulation import Simulation

__all__ = [
    "Absorber",
    "CascadeBeforeDrop",
    "Episode",
    "FairValue",
    "Iceberg",
    "InformedTrader",
    "MarketMaker",
    "NoiseTaker",
    "Participant",
    "Simulation",
    "Spoofer",
]
