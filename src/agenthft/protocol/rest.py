"""REST request and response bodies (docs/protocol.md, REST section)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.model import Side
from agenthft.protocol.messages import Num, OrderId


class Register(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    email: str | None = None


class Registered(msgspec.Struct):
    api_key: str
    account_id: str
    agent_id: str
    key_id: str


class NewKey(msgspec.Struct, forbid_unknown_fields=True):
    scopes: list[str] = msgspec.field(default_factory=lambda: ["read", "trade"])
    label: str = ""
    cancel_on_disconnect: bool = True


class KeyInfo(msgspec.Struct):
    key_id: str
    scopes: list[str]
    label: str
    tier: str
    cancel_on_disconnect: bool
    created_ns: int


class NewKeyResult(KeyInfo):
    api_key: str = ""


class RestOrder(msgspec.Struct, forbid_unknown_fields=True):
    market: str
    side: Side
    client_id: OrderId
    type: str = "limit"
    qty: Num | None = None
    qty_usd: Num | None = None
    price: Num | None = None


class RestOrderResult(msgspec.Struct):
    status: str  # filled / partially_filled / open / cancelled / rejected
    order_id: str
    venue_order_id: int | None
    filled_qty: float
    fill_price: float | None
    remaining_qty: float
    fee: float
    code: str | None = None
    reason: str | None = None


class ErrorBody(msgspec.Struct):
    error: str
    message: str
