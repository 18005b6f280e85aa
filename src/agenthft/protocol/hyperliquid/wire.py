"""Hyperliquid's action shapes: builders for a client (in the official SDK's key order, which is
part of the signed hash) and msgspec Structs a server converts a received action into (after
hashing it as received). Numbers on the wire are decimal strings without trailing zeros
("3000", never "3000.0"); asset ids are ints (perp: index in `meta.universe`; spot: 10000 +
index in `spotMeta.universe`)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

TIFS = ("Gtc", "Alo", "Ioc")
SPOT_ASSET_OFFSET = 10_000
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}\Z")


def is_cloid(text: object) -> bool:
    """`0x` and 32 hex digits: a client order id as Hyperliquid carries it."""
    return isinstance(text, str) and _CLOID.match(text) is not None


# --- builders (a client) ----------------------------------------------------------------------
def order_wire(
    asset: int, is_buy: bool, price: str, size: str, reduce_only: bool, tif: str, cloid: str | None = None
) -> dict[str, Any]:
    """One order as an `order` / `batchModify` action carries it: {a, b, p, s, r, t[, c]}."""
    if tif not in TIFS:
        raise ValueError(f"tif is one of {TIFS}, not {tif!r}")
    wire: dict[str, Any] = {"a": asset, "b": is_buy, "p": price, "s": size, "r": reduce_only}
    wire["t"] = {"limit": {"tif": tif}}
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(orders: list[dict[str, Any]], grouping: str = "na") -> dict[str, Any]:
    return {"type": "order", "orders": orders, "grouping": grouping}


def cancel_action(cancels: list[tuple[int, int]]) -> dict[str, Any]:
    """Cancels by venue order id: [(asset, oid)]."""
    return {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cancels]}


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> dict[str, Any]:
    """Cancels by client order id: [(asset, cloid)] (note the spelled-out keys)."""
    return {"type": "cancelByCloid", "cancels": [{"asset": a, "cloid": c} for a, c in cancels]}


def modify_action(oid: int | str, order: dict[str, Any]) -> dict[str, Any]:
    return {"type": "modify", "oid": oid, "order": order}


def batch_modify_action(modifies: list[tuple[int | str, dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "batchModify", "modifies": [{"oid": oid, "order": order} for oid, order in modifies]}


def schedule_cancel_action(time_ms: int | None) -> dict[str, Any]:
    """The dead man's switch: cancel every open order at `time_ms` (None: unset it)."""
    action: dict[str, Any] = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def exchange_body(
    action: dict[str, Any],
    nonce: int,
    signature: dict[str, Any],
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> dict[str, Any]:
    """The `/exchange` body (and a WebSocket `post` action payload), as the SDK sends it."""
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": vault_address,
        "expiresAfter": expires_after,
    }


# --- what a server reads -------------------------------------------------------------------------
class Signature(msgspec.Struct):
    r: str
    s: str
    v: int


class Envelope(msgspec.Struct):
    """An `/exchange` body. `action` stays a dict: it is hashed in the order it came."""

    action: dict[str, Any]
    nonce: int
    signature: dict[str, Any]
    vaultAddress: str | None = None
    expiresAfter: int | None = None
    isFrontend: bool | None = None


class Limit(msgspec.Struct):
    tif: str


class OrderType(msgspec.Struct):
    limit: Limit | None = None
    trigger: dict[str, Any] | None = None


class OrderWire(msgspec.Struct):
    a: int
    b: bool
    p: str
    s: str
    r: bool
    t: OrderType
    c: str | None = None


class OrderAction(msgspec.Struct):
    orders: list[OrderWire]
    grouping: Any = "na"
    builder: dict[str, Any] | None = None


class CancelOne(msgspec.Struct):
    a: int
    o: int


class CancelAction(msgspec.Struct):
    cancels: list[CancelOne]


class CancelCloidOne(msgspec.Struct):
    asset: int
    cloid: str


class CancelCloidAction(msgspec.Struct):
    cancels: list[CancelCloidOne]


class ModifyOne(msgspec.Struct):
    oid: int | str
    order: OrderWire


class BatchModifyAction(msgspec.Struct):
    modifies: list[ModifyOne]


class ScheduleCancelAction(msgspec.Struct):
    time: int | None = None


class UpdateLeverageAction(msgspec.Struct):
    asset: int
    isCross: bool
    leverage: int


class ApproveAgentAction(msgspec.Struct):
    agentAddress: str
    nonce: int
    hyperliquidChain: str
    signatureChainId: str
    agentName: str | None = None


def convert(obj: Any, typ: type[Any]) -> Any:
    """A received dict as `typ` (unknown keys ignored, as the real venue does with `builder`)."""
    return msgspec.convert(obj, typ)
