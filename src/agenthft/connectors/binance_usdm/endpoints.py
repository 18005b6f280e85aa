"""Where Binance USD-M futures is: mainnet, its testnet, or a venue speaking its dialect at a
local base URL (`agenthft venue --dialect binance-usdm`), which serves REST, the WebSocket API
and the market and user streams on one port."""

from __future__ import annotations

import msgspec

#: --venue names (the `@URL` form takes any base URL)
MAINNET, TESTNET = "binance-usdm", "binance-usdm-testnet"


class Endpoints(msgspec.Struct, frozen=True):
    """`rest`: the REST base (paths /fapi/...); `ws_api`: the WebSocket API; `streams`: the root
    of the routed market (/public, /market) and user (/private) streams."""

    name: str
    rest: str
    ws_api: str
    streams: str
    mainnet: bool = False


def endpoints(spec: str) -> Endpoints:
    """The endpoints a `--venue` spec names (`binance-usdm`, `binance-usdm-testnet`,
    `binance-usdm@http://HOST:PORT`)."""
    name, _, base = spec.partition("@")
    if base:
        base = base.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"--venue {spec!r}: the base URL must be http(s)://HOST:PORT")
        ws = "ws" + base.removeprefix("http")
        return Endpoints(spec, base, f"{ws}/ws-fapi/v1", ws)
    if name == MAINNET:
        return Endpoints(
            spec, "https://fapi.binance.com", "wss://ws-fapi.binance.com/ws-fapi/v1", "wss://fstream.binance.com", True
        )
    if name == TESTNET:
        return Endpoints(
            spec,
            "https://testnet.binancefuture.com",
            "wss://testnet.binancefuture.com/ws-fapi/v1",
            "wss://fstream.binancefuture.com",
        )
    raise ValueError(f"--venue {spec!r}: binance-usdm, binance-usdm-testnet or binance-usdm@http://HOST:PORT")
