"""Binance USDⓈ-M futures' wire protocol in front of the venue's core: a local Binance testnet
(`agenthft venue --dialect binance-usdm`, docs/venues/binance.md). Split by concern: `keys`
(keys and signed-request verification), `rest` (the /fapi app), `wsapi` (/ws-fapi/v1),
`streams` (market and user data streams), `ops` (what each endpoint does, for REST and the
WebSocket API alike), `translate` (outcomes and events as Binance JSON), `errors` (our reject
codes as Binance's), `limits` (REQUEST_WEIGHT and ORDERS windows over the key's tier)."""

from agenthft.venue.fronts.binance_usdm.front import BinanceFront

__all__ = ["BinanceFront"]
