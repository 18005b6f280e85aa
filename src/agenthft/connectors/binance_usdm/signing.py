"""Binance's request signatures: HMAC-SHA256 (hex) with an API secret, or Ed25519 (base64) with a
private key, over the request's parameters as sent (REST: the query string followed directly by
the body; WebSocket API: the parameters sorted by name, `k=v&...`). The Ed25519 arithmetic is
the `cryptography` package's, never ours."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def hmac_sha256(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed25519(private_key: Ed25519PrivateKey, payload: str) -> str:
    return base64.b64encode(private_key.sign(payload.encode())).decode()


def load_ed25519(pem: bytes | str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM text or a PEM file."""
    data = pem.read_bytes() if isinstance(pem, Path) else pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key (Binance's asymmetric keys for this connector are Ed25519)")
    return key


def ws_payload(params: Mapping[str, Any]) -> str:
    """The WebSocket API's signed string: every parameter but `signature`, sorted by name."""
    return urlencode(sorted((k, _text(v)) for k, v in params.items() if k != "signature"))


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Signer:
    """Signs with an HMAC secret or an Ed25519 key (whichever the credentials hold)."""

    def __init__(self, secret: str | None = None, private_key: Ed25519PrivateKey | None = None) -> None:
        if (secret is None) == (private_key is None):
            raise ValueError("a Binance key needs an API secret (HMAC) or an Ed25519 private key, not both")
        self._secret, self._key = secret, private_key
        self.kind = "hmac" if secret is not None else "ed25519"

    def sign(self, payload: str) -> str:
        if self._secret is not None:
            return hmac_sha256(self._secret, payload)
        assert self._key is not None
        return ed25519(self._key, payload)

    def __repr__(self) -> str:
        return f"Signer({self.kind}, ***)"
