"""Where Hyperliquid is: mainnet, its testnet, or a venue speaking its dialect at a local base
URL (`agenthft venue --dialect hyperliquid`), which serves `/info`, `/exchange` and `/ws` on one
port. `mainnet` decides how actions are signed (the phantom agent's source "a" or "b", and
"Mainnet" / "Testnet" in user-signed ones): a local venue is signed as testnet, as the official
SDK does for any URL but mainnet's, and accepts either."""

from __future__ import annotations

import msgspec

#: --venue names (the `@URL` form takes any base URL)
MAINNET, TESTNET = "hyperliquid", "hyperliquid-testnet"
MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"


class Endpoints(msgspec.Struct, frozen=True):
    """`rest`: the base of `POST /info` and `POST /exchange`; `ws`: the WebSocket."""

    name: str
    rest: str
    ws: str
    mainnet: bool = False


def endpoints(spec: str) -> Endpoints:
    """The endpoints a `--venue` spec names (`hyperliquid`, `hyperliquid-testnet`,
    `hyperliquid@http://HOST:PORT`)."""
    name, _, base = spec.partition("@")
    if base and name == MAINNET:
        base = base.rstrip("/")  # the SDK's trap: a trailing slash makes //info
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"--venue {spec!r}: the base URL must be http(s)://HOST:PORT")
        return Endpoints(spec, base, "ws" + base.removeprefix("http") + "/ws")
    if name == MAINNET and not base:
        return Endpoints(spec, MAINNET_URL, "wss://api.hyperliquid.xyz/ws", True)
    if name == TESTNET and not base:
        return Endpoints(spec, TESTNET_URL, "wss://api.hyperliquid-testnet.xyz/ws")
    raise ValueError(f"--venue {spec!r}: hyperliquid, hyperliquid-testnet or hyperliquid@http://HOST:PORT")
