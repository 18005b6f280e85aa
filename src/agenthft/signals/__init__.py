"""Microstructure signals from the agent-visible stream: spoofs, absorption, icebergs, cancel
cascades, queue position, and the inputs a market maker needs. Pure, synchronous, int ticks/lots/ns."""

from agenthft.signals.config import SignalConfig, load_config
from agenthft.signals.detectors import RESPONSE, MarketSignals, SignalEvent

__all__ = ["RESPONSE", "MarketSignals", "SignalConfig", "SignalEvent", "load_config"]
