"""API keys: several per account, scopes, tiers; stored as SHA-256 digests and compared in
constant time. The secret is shown once, at creation, and never logged or stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCOPES = ("read", "trade")
PREFIX = "ahk"


class ApiKey:
    __slots__ = (
        "account_id",
        "cancel_on_disconnect",
        "connections",
        "created_ns",
        "digest",
        "key_id",
        "label",
        "revoked",
        "scopes",
        "tier",
    )

    def __init__(
        self,
        key_id: str,
        account_id: str,
        digest: bytes,
        scopes: tuple[str, ...],
        tier: str,
        label: str,
        cancel_on_disconnect: bool,
        created_ns: int,
    ) -> None:
        self.key_id = key_id
        self.account_id = account_id
        self.digest = digest
        self.scopes = scopes
        self.tier = tier
        self.label = label
        self.cancel_on_disconnect = cancel_on_disconnect
        self.created_ns = created_ns
        self.connections = 0
        self.revoked = False  # set on delete: sessions still holding the record stop at once

    def can(self, scope: str) -> bool:
        return not self.revoked and scope in self.scopes

    def __repr__(self) -> str:  # never shows the digest
        return f"ApiKey({self.key_id} account={self.account_id} scopes={self.scopes} tier={self.tier})"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class KeyStore:
    def __init__(self) -> None:
        self._by_id: dict[str, ApiKey] = {}

    def create(
        self,
        account_id: str,
        scopes: tuple[str, ...] = SCOPES,
        tier: str = "default",
        label: str = "",
        cancel_on_disconnect: bool = True,
        now_ns: int = 0,
    ) -> tuple[str, ApiKey]:
        """A new key; returns (the full key text, its record)."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ValueError(f"unknown scopes {bad}; use some of {list(SCOPES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        rec = ApiKey(key_id, account_id, _digest(secret), tuple(scopes), tier, label, cancel_on_disconnect, now_ns)
        self._by_id[key_id] = rec
        return f"{PREFIX}_{key_id}_{secret}", rec

    def restore(
        self,
        key_id: str,
        account_id: str,
        digest_hex: str,
        scopes: list[str],
        tier: str,
        label: str,
        cancel_on_disconnect: bool,
        created_ns: int,
    ) -> ApiKey:
        """Re-create a key from the venue's command log (the secret itself is never stored)."""
        rec = ApiKey(
            key_id, account_id, bytes.fromhex(digest_hex), tuple(scopes), tier, label, cancel_on_disconnect, created_ns
        )
        self._by_id[key_id] = rec
        return rec

    def authenticate(self, text: str) -> ApiKey | None:
        """The key record for `text`, or None. The secret is compared in constant time."""
        parts = text.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        rec = self._by_id.get(parts[1])
        candidate = _digest(parts[2])
        if rec is None:
            hmac.compare_digest(candidate, candidate)  # same work whether or not the id exists
            return None
        return rec if hmac.compare_digest(candidate, rec.digest) else None

    def of_account(self, account_id: str) -> list[ApiKey]:
        return [k for k in self._by_id.values() if k.account_id == account_id]

    def delete(self, account_id: str, key_id: str) -> bool:
        rec = self._by_id.get(key_id)
        if rec is None or rec.account_id != account_id:
            return False
        del self._by_id[key_id]
        rec.revoked = True
        return True
