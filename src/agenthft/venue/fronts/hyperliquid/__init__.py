"""Hyperliquid's front on the venue (`agenthft venue --dialect hyperliquid`): `/info`,
`/exchange` and the WebSocket `/ws` on one port, over the venue's one order-entry path
(docs/venues/hyperliquid.md)."""

from agenthft.venue.fronts.hyperliquid.front import HyperliquidFront

__all__ = ["HyperliquidFront"]
