"""The agent's offline shell: the same strategy, OMS and risk on a simulated clock, with latency
models between the agent and the venue (docs/backtest.md)."""

from agenthft.backtest.engine import Backtest
from agenthft.backtest.results import Results, Summary
from agenthft.connectors.simulated.latency import PRESETS, Constant, Empirical, Jittered, LatencyModel, parse

__all__ = ["PRESETS", "Backtest", "Constant", "Empirical", "Jittered", "LatencyModel", "Results", "Summary", "parse"]
