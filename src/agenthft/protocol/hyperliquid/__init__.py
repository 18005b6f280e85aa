"""Hyperliquid's wire protocol, shared by the venue's Hyperliquid front
(`venue/fronts/hyperliquid/`) and the Hyperliquid connector (`connectors/hyperliquid/`):
EIP-712 signing and signer recovery of actions (`signing`), the price and size rules as grids
(`rules`), the error strings and their map to agenthft's reject codes (`errors`) and the action
shapes (`wire`)."""
