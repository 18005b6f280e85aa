"""Strategies: one interface (base.Strategy) for live, simulation and replay."""

from agenthft.strategies.base import Context, Strategy
from agenthft.strategies.latency_arb import LatencyArb, LatencyArbParams
from agenthft.strategies.quoter import Quoter, QuoterParams

__all__ = ["Context", "LatencyArb", "LatencyArbParams", "Quoter", "QuoterParams", "Strategy"]
