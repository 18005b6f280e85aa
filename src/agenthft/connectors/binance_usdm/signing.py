"""The connector's signer: an HMAC-SHA256 secret or an Ed25519 private key, which never prints
itself. The signatures are `protocol.binance_usdm.signing`'s (the venue's front verifies with the
same module): REST over the query string as sent, the WebSocket API over the sorted parameters."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agenthft.protocol.binance_usdm.signing import hmac_sign, load_ed25519_private, sign, ws_payloads


def load_ed25519(pem: bytes | str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM text or a PEM file."""
    return load_ed25519_private(pem.read_bytes() if isinstance(pem, Path) else pem)


def ws_payload(params: Mapping[str, Any]) -> str:
    """The WebSocket API's signed string: every parameter but `signature`, sorted by name."""
    return ws_payloads(params)[0]


def hmac_sha256(secret: str, payload: str) -> str:
    return hmac_sign(secret, payload)


class Signer:
    """Signs with an HMAC secret or an Ed25519 key (whichever the credentials hold)."""

    def __init__(self, secret: str | None = None, private_key: Ed25519PrivateKey | None = None) -> None:
        if (secret is None) == (private_key is None):
            raise ValueError("a Binance key needs an API secret (HMAC) or an Ed25519 private key, not both")
        self._key: str | Ed25519PrivateKey = secret if secret is not None else private_key  # type: ignore[assignment]
        self.kind = "hmac" if secret is not None else "ed25519"

    def sign(self, payload: str) -> str:
        return sign(self._key, payload)

    def __repr__(self) -> str:
        return f"Signer({self.kind}, ***)"
