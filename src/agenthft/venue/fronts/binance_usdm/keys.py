"""Binance API keys over the venue's keys, and signed-request verification.

Each Binance key is bound to a venue key (`ApiKey`: account, scopes, tier, limits). An HMAC
key's secret is held in memory only (HMAC needs it to verify; it is never logged, never in an
error body, never in the command log: Binance keys are made anew at each start). An Ed25519
key is a public key the user registered; the venue never sees the private key.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenthft import redact
from agenthft.protocol.binance_usdm.signing import rest_payload, verify_ed25519, verify_hmac, ws_payloads
from agenthft.venue.fronts.binance_usdm.errors import FrontError, mandatory
from agenthft.venue.keys import ApiKey

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
_ALNUM = string.ascii_letters + string.digits


def _token(n: int = 64) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


class BinanceKey:
    __slots__ = ("api_key", "kind", "public", "record", "secret")

    def __init__(self, api_key: str, record: ApiKey, secret: str | None, public: Ed25519PublicKey | None) -> None:
        self.api_key = api_key
        self.record = record  # the venue key: account, scopes, tier
        self.secret = secret
        self.public = public
        self.kind = "HMAC_SHA256" if secret is not None else "ED25519"

    @property
    def account(self) -> str:
        return self.record.account_id

    def verify(self, payloads: list[str], signature: str) -> bool:
        for p in payloads:
            if self.secret is not None:
                if verify_hmac(self.secret, p, signature):
                    return True
            elif self.public is not None and verify_ed25519(self.public, p, signature):
                return True
        return False

    def __repr__(self) -> str:  # never the secret
        return f"BinanceKey({self.api_key[:8]}... {self.kind} account={self.account})"


class BinanceKeys:
    def __init__(self) -> None:
        self._by_key: dict[str, BinanceKey] = {}

    def add_hmac(self, record: ApiKey, api_key: str | None = None, secret: str | None = None) -> BinanceKey:
        """A new HMAC key for `record`'s account: (API key, secret) random unless given."""
        key = BinanceKey(api_key or _token(), record, secret or _token(), None)
        assert key.secret is not None
        redact.add_secret(key.secret)
        self._by_key[key.api_key] = key
        return key

    def add_ed25519(self, record: ApiKey, public: Ed25519PublicKey, api_key: str | None = None) -> BinanceKey:
        key = BinanceKey(api_key or _token(), record, None, public)
        self._by_key[key.api_key] = key
        return key

    def get(self, api_key: str | None) -> BinanceKey | None:
        if not api_key:
            return None
        key = self._by_key.get(api_key)
        return key if key is not None and not key.record.revoked else None

    def of_account(self, account: str) -> list[BinanceKey]:
        return [k for k in self._by_key.values() if k.account == account]

    def require(self, api_key: str | None) -> BinanceKey:
        """The key named by `X-MBX-APIKEY` (or `apiKey`): -2014 if absent, -2015 if unknown."""
        if not api_key:
            raise FrontError(-2014)
        key = self.get(api_key)
        if key is None:
            raise FrontError(-2015)
        return key


def check_time(params: Mapping[str, Any], now_ms: int) -> None:
    """Binance's rule: timestamp < server time + 1000 and server time - timestamp <= recvWindow
    (default 5000, at most 60000), else -1021."""
    ts = params.get("timestamp")
    try:
        stamp = int(ts)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise mandatory("timestamp") from None
    raw_window = params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)
    try:
        window = int(float(raw_window))
    except (TypeError, ValueError):
        raise FrontError(-1130, "recvWindow") from None
    if window > MAX_RECV_WINDOW_MS or window <= 0:
        raise FrontError(-1131)
    if not (stamp < now_ms + 1000 and now_ms - stamp <= window):
        raise FrontError(-1021)


def verify_rest(
    keys: BinanceKeys, api_key: str | None, raw_query: str, raw_body: str, params: Mapping[str, Any], now_ms: int
) -> BinanceKey:
    """A SIGNED REST request: the key (-2014 / -2015), the time (-1021), the signature over
    raw query + raw body (-1102 if none, -1022 if wrong)."""
    key = keys.require(api_key)
    check_time(params, now_ms)
    payload, signature = rest_payload(raw_query, raw_body)
    if not signature:
        raise mandatory("signature")
    if not key.verify([payload], signature):
        raise FrontError(-1022)
    return key


def verify_ws(keys: BinanceKeys, params: Mapping[str, Any], now_ms: int, session_key: BinanceKey | None) -> BinanceKey:
    """A signed WebSocket API request: after `session.logon` the session's key (timestamp
    still checked), else `apiKey` + `signature` over the sorted params (either encoding)."""
    if session_key is not None and "signature" not in params:
        check_time(params, now_ms)
        return session_key
    key = keys.require(params.get("apiKey"))
    check_time(params, now_ms)
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise mandatory("signature")
    if not key.verify(ws_payloads(params), signature):
        raise FrontError(-1022)
    return key
