"""Binance USD-M futures: the connector (`port.py`) and what it is made of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agenthft.connectors.binance_usdm.endpoints import MAINNET, Endpoints, endpoints
from agenthft.connectors.binance_usdm.port import BinanceUsdmPort
from agenthft.connectors.binance_usdm.signing import Signer, load_ed25519
from agenthft.connectors.credentials import CredentialError, from_env_or_file, owner_only

#: the environment variables the connector reads (`agenthft venue --dialect binance-usdm` prints them)
ENV = {"api_key": "BINANCE_API_KEY", "api_secret": "BINANCE_API_SECRET", "private_key_file": "BINANCE_PRIVATE_KEY_FILE"}


def credentials(key_file: str | Path | None = None) -> tuple[str, Signer | None]:
    """(API key, signer) from the environment or an owner-only key file; ("", None) when there
    are none (market data and dry runs need none)."""
    creds = from_env_or_file(ENV, key_file)
    if "api_key" not in creds:
        return "", None
    if "private_key_file" in creds:
        pem = Path(creds["private_key_file"].reveal())
        owner_only(pem)
        try:
            return creds["api_key"].reveal(), Signer(private_key=load_ed25519(pem))
        except (OSError, ValueError) as e:
            raise CredentialError(f"Ed25519 key {pem}: {e}") from None
    if "api_secret" not in creds:
        raise CredentialError(f"{ENV['api_key']} is set but neither {ENV['api_secret']} nor {ENV['private_key_file']}")
    return creds["api_key"].reveal(), Signer(secret=creds["api_secret"].reveal())


def open_binance(spec: str, key_file: str | None = None, public_only: bool = False, **options: Any) -> BinanceUsdmPort:
    """The port for `binance-usdm`, `binance-usdm-testnet` or `binance-usdm@URL`; `public_only`:
    market data only, whatever credentials the environment holds (paper trading)."""
    ep = endpoints(spec)
    api_key, signer = ("", None) if public_only else credentials(key_file)
    return BinanceUsdmPort(ep, api_key, signer, **options)


__all__ = ["ENV", "MAINNET", "BinanceUsdmPort", "Endpoints", "credentials", "endpoints", "open_binance"]
