"""Hyperliquid's signatures, both ends: what a wallet signs and how a server recovers who signed.

Two schemes (docs: "Signing"; the official Python SDK's `utils/signing.py`):

- **L1 actions** (order, cancel, cancelByCloid, modify, batchModify, scheduleCancel,
  updateLeverage, noop, ...): `connectionId = keccak256(msgpack(action) || nonce (8 bytes, big
  endian) || 0x00 | 0x01 + vault address (20 bytes) || [0x00 + expiresAfter (8 bytes)])`; the
  wallet signs the EIP-712 struct `Agent {source, connectionId}` in the domain `Exchange`, version
  1, chainId 1337, verifying contract 0x0. `source` is "a" on mainnet and "b" on testnet: the
  phantom agent is what stops a testnet signature from trading on mainnet. The msgpack bytes
  follow the action's key order: a server hashes the action exactly as it received it.
- **User-signed actions** (approveAgent, approveBuilderFee, usdSend, withdraw3, ...): the
  action itself is the EIP-712 message, `HyperliquidTransaction:<Name>` in the domain
  `HyperliquidSignTransaction`, version 1, chainId = `signatureChainId`, with `hyperliquidChain`
  ("Mainnet" / "Testnet") as its first field.

secp256k1 signing and recovery are eth-account's (`Account.sign_message`, `recover_message`):
nothing cryptographic is written here. Signatures travel as `{"r": hex, "s": hex, "v": 27|28}`
with r and s not zero-padded (the SDK's `to_hex`): they are read as integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from agenthft.model.fixed import Number, to_scaled

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
#: the chain id the official SDK and ccxt sign user-signed actions on (Arbitrum Sepolia)
SIGNATURE_CHAIN_ID = "0x66eee"
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

#: the user-signed actions this package knows: action type -> (EIP-712 primary type, fields after
#: `hyperliquidChain`)
USER_SIGNED: dict[str, tuple[str, list[dict[str, str]]]] = {
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        [{"name": "agentAddress", "type": "address"}, {"name": "agentName", "type": "string"}],
    ),
    "approveBuilderFee": (
        "HyperliquidTransaction:ApproveBuilderFee",
        [{"name": "maxFeeRate", "type": "string"}, {"name": "builder", "type": "address"}],
    ),
    "usdSend": (
        "HyperliquidTransaction:UsdSend",
        [{"name": "destination", "type": "string"}, {"name": "amount", "type": "string"}],
    ),
    "withdraw3": (
        "HyperliquidTransaction:Withdraw",
        [{"name": "destination", "type": "string"}, {"name": "amount", "type": "string"}],
    ),
    "spotSend": (
        "HyperliquidTransaction:SpotSend",
        [
            {"name": "destination", "type": "string"},
            {"name": "token", "type": "string"},
            {"name": "amount", "type": "string"},
        ],
    ),
    "usdClassTransfer": (
        "HyperliquidTransaction:UsdClassTransfer",
        [{"name": "amount", "type": "string"}, {"name": "toPerp", "type": "bool"}],
    ),
}
#: the field that carries a user-signed action's nonce (`time` for transfers, else `nonce`)
_NONCE_FIELD = {"usdSend": "time", "withdraw3": "time", "spotSend": "time"}


class BadSignature(ValueError):
    """A signature that recovers no address at all (malformed r, s or v)."""


def int_for_hashing(value: Number) -> int:
    """A number as the integer count of 1e-8 the SDK hashes (`float_to_int_for_hashing`):
    exact, or GridError for more than 8 decimals (never rounded)."""
    return to_scaled(value, 8)


def address_bytes(address: str) -> bytes:
    """A 20-byte address from hex, with or without `0x` (ccxt sends a vault address without)."""
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise ValueError(f"an address is 20 bytes, got {len(raw)}")
    return raw


def action_hash(action: Any, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    """The 32-byte connection id of an L1 action (msgpack in the action's own key order)."""
    data = msgpack.packb(action)
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + address_bytes(vault_address)
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return bytes(keccak(data))


def l1_typed_data(connection_id: bytes, mainnet: bool) -> dict[str, Any]:
    """The EIP-712 message an L1 action's signer signs (the phantom agent)."""
    return {
        "domain": {"chainId": 1337, "name": "Exchange", "verifyingContract": ZERO_ADDRESS, "version": "1"},
        "types": {
            "Agent": [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}],
            "EIP712Domain": _DOMAIN_TYPE,
        },
        "primaryType": "Agent",
        "message": {"source": "a" if mainnet else "b", "connectionId": connection_id},
    }


#: the L1 domain's separator and the Agent struct's type hash: constants, so an L1 action's
#: EIP-712 message is two keccaks away (`l1_message`), not a typed-data encoding per order
#: (eth-account's takes ~130 us; `tests/unit/protocol/test_hyperliquid.py` holds them equal)
_L1_DOMAIN = bytes(encode_typed_data(full_message=l1_typed_data(bytes(32), True)).header)
_AGENT_TYPE = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE = {True: keccak(b"a"), False: keccak(b"b")}


def l1_message(connection_id: bytes, mainnet: bool) -> SignableMessage:
    """The EIP-712 message of an L1 action, as eth-account's `encode_typed_data` of
    `l1_typed_data` gives it, built from the constant domain separator."""
    body = keccak(_AGENT_TYPE + _SOURCE[mainnet] + connection_id)
    return SignableMessage(b"\x01", _L1_DOMAIN, body)


def user_typed_data(action: Mapping[str, Any]) -> dict[str, Any]:
    """The EIP-712 message of a user-signed action, as the action states it: its own
    `hyperliquidChain` and `signatureChainId`; a missing `agentName` is "" (the SDK signs "" and
    then drops the key)."""
    kind = str(action.get("type", ""))
    if kind not in USER_SIGNED:
        raise ValueError(f"not a user-signed action: {kind!r}")
    primary, fields = USER_SIGNED[kind]
    nonce_field = _NONCE_FIELD.get(kind, "nonce")
    types = [{"name": "hyperliquidChain", "type": "string"}, *fields, {"name": nonce_field, "type": "uint64"}]
    message = {f["name"]: action.get(f["name"]) for f in types}
    if kind == "approveAgent" and message["agentName"] is None:
        message["agentName"] = ""
    return {
        "domain": {
            "name": "HyperliquidSignTransaction",
            "version": "1",
            "chainId": int(str(action.get("signatureChainId", SIGNATURE_CHAIN_ID)), 16),
            "verifyingContract": ZERO_ADDRESS,
        },
        "types": {primary: types, "EIP712Domain": _DOMAIN_TYPE},
        "primaryType": primary,
        "message": message,
    }


def user_nonce(action: Mapping[str, Any]) -> Any:
    """The nonce a user-signed action carries inside (it must equal the request's)."""
    return action.get(_NONCE_FIELD.get(str(action.get("type", "")), "nonce"))


def _to_hex(n: int) -> str:
    return hex(n)  # as the SDK: no zero padding


class Wallet:
    """A private key that signs Hyperliquid actions (the master account's, or an approved API
    wallet's). The key never prints."""

    __slots__ = ("_account", "address")

    def __init__(self, private_key: str | bytes) -> None:
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address  # EIP-55 checksummed

    @classmethod
    def create(cls) -> Wallet:
        return cls(bytes(Account.create().key))

    @property
    def private_key(self) -> str:
        return "0x" + bytes(self._account.key).hex()

    def _sign(self, message: SignableMessage) -> dict[str, Any]:
        signed = self._account.sign_message(message)
        return {"r": _to_hex(signed.r), "s": _to_hex(signed.s), "v": signed.v}

    def sign_l1(
        self,
        action: Any,
        nonce: int,
        mainnet: bool,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> dict[str, Any]:
        """Sign an L1 action: {"r", "s", "v"}."""
        return self._sign(l1_message(action_hash(action, vault_address, nonce, expires_after), mainnet))

    def sign_user(self, action: dict[str, Any], mainnet: bool) -> dict[str, Any]:
        """Sign a user-signed action; sets its `hyperliquidChain` and `signatureChainId` first
        (as the SDK does)."""
        action["signatureChainId"] = SIGNATURE_CHAIN_ID
        action["hyperliquidChain"] = "Mainnet" if mainnet else "Testnet"
        return self._sign(encode_typed_data(full_message=user_typed_data(action)))

    def __repr__(self) -> str:
        return f"Wallet({self.address})"


def _vrs(signature: Mapping[str, Any]) -> tuple[int, int, int]:
    try:
        r, s, v = signature["r"], signature["s"], signature["v"]
        return int(v), int(r, 16) if isinstance(r, str) else int(r), int(s, 16) if isinstance(s, str) else int(s)
    except (KeyError, TypeError, ValueError):
        raise BadSignature("a signature is {r: hex, s: hex, v: 27 | 28}") from None


def _recover(message: SignableMessage, signature: Mapping[str, Any]) -> str:
    v, r, s = _vrs(signature)
    try:
        return str(Account.recover_message(message, vrs=(v, r, s)))
    except Exception as e:  # eth-keys' BadSignature, ValidationError, ...: no address
        raise BadSignature(f"no signer recovers from this signature ({type(e).__name__})") from None


def recover_l1(
    action: Any,
    signature: Mapping[str, Any],
    nonce: int,
    mainnet: bool,
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> str:
    """The address that signed an L1 action for one network (a wrong network or a wrong hash
    gives some other address, never an error: the server looks the address up)."""
    return _recover(l1_message(action_hash(action, vault_address, nonce, expires_after), mainnet), signature)


def recover_user(action: Mapping[str, Any], signature: Mapping[str, Any]) -> str:
    """The address that signed a user-signed action, on the chain the action names."""
    try:
        message = encode_typed_data(full_message=user_typed_data(action))
    except (TypeError, ValueError) as e:
        raise BadSignature(str(e)) from None
    return _recover(message, signature)


def checksum(address: str) -> str:
    """EIP-55 form of an address (a ValueError if it is not one)."""
    return str(to_checksum_address(address))
