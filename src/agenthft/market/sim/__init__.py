"""Simulated market: a fair value, participants acting through the matching engine, labels."""

from agenthft.market.sim.fair import FairValue
from agenthft.market.sim.participants import Episode, Iceberg, MarketMaker, NoiseTaker, Participant, Spoofer
from agenthft.market.sim.simulation import Simulation

__all__ = ["Episode", "FairValue", "Iceberg", "MarketMaker", "NoiseTaker", "Participant", "Simulation", "Spoofer"]
