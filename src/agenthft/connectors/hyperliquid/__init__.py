"""Hyperliquid: the connector (`port.py`) and what it is made of (docs/venues/hyperliquid.md).

Keys: `HYPERLIQUID_PRIVATE_KEY` (an API wallet's key, approved by the account: it trades and
cannot withdraw; or the account's own) and `HYPERLIQUID_ACCOUNT_ADDRESS` (the account's address
when the key is an API wallet's), from the environment or an owner-only key file
(`private_key`, `account_address`).

A strategy trading Hyperliquid rounds its prices with `round_price`: an instrument's tick is
the finest step a price may take, and whether a price on it is valid depends on its magnitude
(5 significant figures, or a whole number); the connector refuses an invalid one with
`bad_price` and never rounds it silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agenthft import redact
from agenthft.connectors.credentials import CredentialError, from_env_or_file
from agenthft.connectors.hyperliquid.endpoints import MAINNET, TESTNET, Endpoints, endpoints
from agenthft.connectors.hyperliquid.port import HyperliquidPort
from agenthft.model import Instrument
from agenthft.protocol.hyperliquid import rules
from agenthft.protocol.hyperliquid.signing import Wallet, checksum

#: the environment variables the connector reads (`agenthft venue --dialect hyperliquid` prints them)
ENV = {"private_key": "HYPERLIQUID_PRIVATE_KEY", "account_address": "HYPERLIQUID_ACCOUNT_ADDRESS"}


def price_ok(inst: Instrument, ticks: int) -> bool:
    """Whether Hyperliquid accepts a price of `ticks` on one of the connector's instruments."""
    return rules.price_ok(ticks, inst.grid.tick_decimals)


def round_price(inst: Instrument, ticks: int, direction: str = "nearest") -> int:
    """The valid price nearest to `ticks` going "down", "up" or "nearest" (for a bid, down; for
    an ask, up: never more aggressive than asked)."""
    return rules.round_price(ticks, inst.grid.tick_decimals, direction)


def credentials(key_file: str | Path | None = None) -> tuple[Wallet | None, str]:
    """(wallet, account address) from the environment or an owner-only key file; (None, "")
    when there is no key (market data and dry runs need none)."""
    creds = from_env_or_file(ENV, key_file)
    if "private_key" not in creds:
        if "account_address" in creds:
            raise CredentialError(f"{ENV['account_address']} is set but not {ENV['private_key']}")
        return None, ""
    try:
        wallet = Wallet(creds["private_key"].reveal())
        redact.add_secret(wallet.private_key)  # masked in any log line
    except (ValueError, TypeError):
        raise CredentialError(f"{ENV['private_key']} is no secp256k1 private key (0x and 64 hex digits)") from None
    account = creds["account_address"].reveal() if "account_address" in creds else wallet.address
    try:
        return wallet, checksum(account)
    except ValueError:
        raise CredentialError(f"{ENV['account_address']} is no address (0x and 40 hex digits)") from None


def open_hyperliquid(
    spec: str, key_file: str | None = None, public_only: bool = False, **options: Any
) -> HyperliquidPort:
    """The port for `hyperliquid`, `hyperliquid-testnet` or `hyperliquid@URL`; `public_only`:
    market data only, whatever credentials the environment holds (paper trading)."""
    ep = endpoints(spec)
    wallet, account = (None, "") if public_only else credentials(key_file)
    return HyperliquidPort(ep, wallet, account, **options)


__all__ = [
    "ENV",
    "MAINNET",
    "TESTNET",
    "Endpoints",
    "HyperliquidPort",
    "credentials",
    "endpoints",
    "open_hyperliquid",
    "price_ok",
    "round_price",
]
