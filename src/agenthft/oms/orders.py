"""The agent's view of one order."""

from __future__ import annotations

from agenthft.model import OrderStatus, OrderType, Side
from agenthft.model.enums import TERMINAL


class ClientOrder:
    """Prices in ticks, quantities in lots, money (cost, fees) in 1e-12 quote units."""

    __slots__ = (
        "acked_ns",
        "cancel_retries",
        "cancel_sent_ns",
        "closed_by",
        "cost",
        "created_ns",
        "done_ns",
        "external",
        "fees",
        "fill_ids",
        "filled",
        "market",
        "order_id",
        "order_type",
        "price",
        "qty",
        "reject_code",
        "side",
        "status",
        "synthetic_fills",
        "venue_order_id",
    )

    def __init__(
        self,
        order_id: str,
        market: str,
        side: Side,
        qty: int,
        price: int | None,
        order_type: OrderType,
        created_ns: int,
    ) -> None:
        self.order_id = order_id
        self.market = market
        self.side = side
        self.qty = qty
        self.price = price
        self.order_type = order_type
        self.created_ns = created_ns
        self.status = OrderStatus.PENDING_NEW
        self.venue_order_id: int | None = None
        self.filled = 0
        self.cost = 0  # sum of fill price x qty, cash units
        self.fees = 0
        self.acked_ns = 0
        self.done_ns = 0
        self.reject_code = ""
        self.fill_ids: set[int] = set()
        self.synthetic_fills = 0
        self.external = False  # learned from the venue, not sent by this OMS
        self.cancel_sent_ns = 0  # when the latest cancel for it was sent (one in flight at a time)
        self.cancel_retries = 0
        self.closed_by = ""  # what ended it: cancel_ack | reconcile | reject | fill

    @property
    def remaining(self) -> int:
        return 0 if self.status in TERMINAL else self.qty - self.filled

    @property
    def live(self) -> bool:
        return self.status not in TERMINAL

    def __repr__(self) -> str:
        return f"ClientOrder({self.order_id} {self.side.value} {self.filled}/{self.qty}@{self.price} {self.status})"
