"""Binance request signing, both ends: what a client signs and what a server verifies.

REST (USDⓈ-M general info): the signed payload is the raw query string concatenated with the
raw body, no separator, `signature` removed; HMAC-SHA256 as hex (case-insensitive), Ed25519 as
standard base64 (URL-encoded on the wire). WebSocket API: every param but `signature`, sorted
by name, joined `k=v&...`; the official SDK percent-encodes the values first and ccxt does not,
so a server accepts either (`ws_payloads`). Ed25519 uses the `cryptography` package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ed25519_sign",
    "hmac_sign",
    "load_ed25519_private",
    "load_ed25519_public",
    "rest_payload",
    "sign",
    "signed_query",
    "signed_ws_params",
    "verify_ed25519",
    "verify_hmac",
    "ws_payloads",
    "ws_value",
]


def hmac_sign(secret: str | bytes, payload: str | bytes) -> str:
    """HMAC-SHA256 of `payload` under `secret`, lowercase hex (Binance's HMAC signature)."""
    key = secret.encode() if isinstance(secret, str) else secret
    msg = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def verify_hmac(secret: str | bytes, payload: str | bytes, signature: str) -> bool:
    """Constant-time check of a hex signature (either case)."""
    return hmac.compare_digest(hmac_sign(secret, payload), signature.strip().lower())


def load_ed25519_private(pem: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM text."""
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_ed25519_public(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) text, as Binance takes it."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def ed25519_sign(key: Ed25519PrivateKey | str | bytes, payload: str | bytes) -> str:
    """Ed25519 signature of `payload`, standard base64 (deterministic, RFC 8032)."""
    k = key if isinstance(key, Ed25519PrivateKey) else load_ed25519_private(key)
    msg = payload.encode() if isinstance(payload, str) else payload
    return base64.b64encode(k.sign(msg)).decode()


def verify_ed25519(key: Ed25519PublicKey, payload: str | bytes, signature: str) -> bool:
    """Check a base64 Ed25519 signature (URL-decoded first if it still is encoded)."""
    sig = signature.strip()
    if "%" in sig:
        sig = unquote_plus(sig)
    try:
        raw = base64.b64decode(sig, validate=True)
        key.verify(raw, payload.encode() if isinstance(payload, str) else payload)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """`raw` (a query string or form body) without its `signature=` field, and the field's raw
    value. Binance wants it last; any position is accepted here."""
    if "signature=" not in raw:
        return raw, None
    parts = raw.split("&")
    kept, sig = [], None
    for p in parts:
        if p.startswith("signature="):
            sig = p[len("signature=") :]
        else:
            kept.append(p)
    return "&".join(kept), sig


def rest_payload(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """(the signed payload, the raw signature value) of a REST request: query + body as sent,
    no separator, `signature` removed from whichever held it."""
    q, sig_q = _strip_signature(raw_query)
    b, sig_b = _strip_signature(raw_body)
    sig = sig_q if sig_q is not None else sig_b
    return q + b, None if sig is None else unquote_plus(sig)


def ws_value(v: Any) -> str:
    """A WebSocket API param as the clients put it in the signed string: booleans as
    true/false, everything else as `str`."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def ws_payloads(params: Mapping[str, Any]) -> list[str]:
    """The strings a WebSocket API request may have been signed over: the sorted raw `k=v`
    join (ccxt) and its percent-encoded form (the official SDK); one when they agree."""
    items = sorted((k, ws_value(v)) for k, v in params.items() if k != "signature")
    raw = "&".join(f"{k}={v}" for k, v in items)
    encoded = urlencode(items)
    return [raw] if encoded == raw else [raw, encoded]


Signer = str | Ed25519PrivateKey  # an HMAC secret, or an Ed25519 private key


def sign(signer: Signer, payload: str) -> str:
    """Binance's signature of `payload`: HMAC-SHA256 hex for a secret, Ed25519 base64 for a key."""
    return ed25519_sign(signer, payload) if isinstance(signer, Ed25519PrivateKey) else hmac_sign(signer, payload)


def signed_query(params: Mapping[str, Any], signer: Signer) -> str:
    """A SIGNED request's query string (or form body): `params` URL-encoded in order (add
    `timestamp` first), then `&signature=` over exactly that text."""
    text = urlencode([(k, ws_value(v)) for k, v in params.items()])
    return f"{text}&{urlencode({'signature': sign(signer, text)})}"


def signed_ws_params(params: Mapping[str, Any], api_key: str, signer: Signer) -> dict[str, Any]:
    """A WebSocket API request's params with `apiKey` and `signature` (over the sorted raw
    `k=v` join; add `timestamp` first)."""
    out = {**params, "apiKey": api_key}
    out["signature"] = sign(signer, ws_payloads(out)[0])
    return out
