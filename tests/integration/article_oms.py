# ruff: noqa
# mypy: ignore-errors
# The article's order manager ("Order Management Systems: Event-Driven Architecture",
# ../shared/seed/000_83e561fd62d280be.txt), reflowed from the seed's one-line text into lines and
# indentation. What changed, and nothing else: websockets renamed `extra_headers` to
# `additional_headers` (websockets 14), the one edit in the code below. Its URL and key are the
# constructor's arguments in the article already: the test passes the embedded venue's.
import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, List, Optional, Callable
import websockets
import json


class OrderSide(Enum):
    BUY = "buy"
    SELL = "sell"


class OrderStatus(Enum):
    PENDING = "pending"
    OPEN = "open"
    PARTIAL = "partial"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass
class Order:
    order_id: str
    market: str
    side: OrderSide
    price: float
    qty: float
    filled_qty: float = 0.0
    status: OrderStatus = OrderStatus.PENDING
    created_ns: int = field(default_factory=lambda: time.time_ns())
    ack_ns: Optional[int] = None
    fill_ns: Optional[int] = None

    @property
    def latency_us(self) -> Optional[float]:
        """Acknowledgment latency in microseconds."""
        if self.ack_ns:
            return (self.ack_ns - self.created_ns) / 1_000
        return None


@dataclass
class BookLevel:
    price: float
    qty: float
    orders: int = 1


class LocalOrderBook:
    """In-memory order book replica with O(1) update."""

    def __init__(self):
        self._bids: Dict[float, BookLevel] = {}
        self._asks: Dict[float, BookLevel] = {}

    def update(self, side: str, price: float, qty: float):
        book = self._bids if side == "bid" else self._asks
        if qty == 0:
            book.pop(price, None)
        else:
            book[price] = BookLevel(price=price, qty=qty)

    @property
    def best_bid(self) -> Optional[BookLevel]:
        return self._bids[max(self._bids)] if self._bids else None

    @property
    def best_ask(self) -> Optional[BookLevel]:
        return self._asks[min(self._asks)] if self._asks else None

    @property
    def mid_price(self) -> Optional[float]:
        b, a = self.best_bid, self.best_ask
        return (b.price + a.price) / 2 if b and a else None

    @property
    def spread(self) -> Optional[float]:
        b, a = self.best_bid, self.best_ask
        return a.price - b.price if b and a else None


class HFTOrderManager:
    """High-frequency order manager using asyncio event loop.
    Designed for minimal latency: no blocking I/O in hot path,
    lock-free state management within single async thread.
    """

    def __init__(self, api_key: str, ws_url: str):
        self.api_key = api_key
        self.ws_url = ws_url
        self.orders: Dict[str, Order] = {}
        self.books: Dict[str, LocalOrderBook] = defaultdict(LocalOrderBook)
        self._ws: Optional[websockets.WebSocketClientProtocol] = None
        self._running = False
        self._order_callbacks: List[Callable] = []
        self._fill_callbacks: List[Callable] = []
        # Circuit breaker state
        self._consecutive_rejects = 0
        self._max_rejects = 5
        self._kill_switch = False
        # Latency tracking
        self._latency_samples: List[float] = []

    async def connect(self):
        """Establish WebSocket connection with TCP_NODELAY."""
        self._ws = await websockets.connect(
            self.ws_url,
            additional_headers={"Authorization": f"Bearer {self.api_key}"},
            compression=None,  # Disable compression — latency over bandwidth
            max_size=2**20,
        )
        await self._authenticate()
        self._running = True

    async def _authenticate(self):
        await self._ws.send(json.dumps({"type": "auth", "api_key": self.api_key, "timestamp_ns": time.time_ns()}))

    async def subscribe_book(self, market: str):
        await self._ws.send(json.dumps({"type": "subscribe", "channel": "orderbook", "market": market, "depth": 20}))

    async def submit_order(self, market: str, side: OrderSide, price: float, qty: float) -> Order:
        if self._kill_switch:
            raise RuntimeError("Kill switch active — trading halted")
        order = Order(order_id=f"o_{time.time_ns()}", market=market, side=side, price=price, qty=qty)
        self.orders[order.order_id] = order
        await self._ws.send(
            json.dumps(
                {
                    "type": "order",
                    "order_id": order.order_id,
                    "market": market,
                    "side": side.value,
                    "price": price,
                    "qty": qty,
                    "submit_ns": order.created_ns,
                }
            )
        )
        return order

    async def cancel_order(self, order_id: str):
        await self._ws.send(json.dumps({"type": "cancel", "order_id": order_id}))

    async def _process_message(self, raw: str):
        # Hot path — minimize allocations
        msg = json.loads(raw)
        msg_type = msg["type"]
        if msg_type == "book_update":
            book = self.books[msg["market"]]
            for bid in msg.get("bids", []):
                book.update("bid", bid[0], bid[1])
            for ask in msg.get("asks", []):
                book.update("ask", ask[0], ask[1])
        elif msg_type == "order_ack":
            order = self.orders.get(msg["order_id"])
            if order:
                order.ack_ns = time.time_ns()
                order.status = OrderStatus.OPEN
                self._consecutive_rejects = 0
                if order.latency_us:
                    self._latency_samples.append(order.latency_us)
        elif msg_type == "order_reject":
            order = self.orders.get(msg["order_id"])
            if order:
                order.status = OrderStatus.REJECTED
                self._consecutive_rejects += 1
                if self._consecutive_rejects >= self._max_rejects:
                    self._trigger_kill_switch(f"Too many consecutive rejects: {msg.get('reason')}")
        elif msg_type == "fill":
            order = self.orders.get(msg["order_id"])
            if order:
                order.fill_ns = time.time_ns()
                order.filled_qty += msg["fill_qty"]
                if order.filled_qty >= order.qty:
                    order.status = OrderStatus.FILLED
                for cb in self._fill_callbacks:
                    asyncio.create_task(cb(order, msg))

    def _trigger_kill_switch(self, reason: str):
        self._kill_switch = True
        # Log to separate thread — never block event loop
        print(f"KILL SWITCH ACTIVATED: {reason}")

    async def run(self):
        """Main event loop — never blocks."""
        async for message in self._ws:
            await self._process_message(message)

    @property
    def avg_latency_us(self) -> float:
        if not self._latency_samples:
            return 0.0
        return sum(self._latency_samples[-100:]) / len(self._latency_samples[-100:])
