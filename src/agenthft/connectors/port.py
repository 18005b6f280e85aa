"""The venue port: everything the agent core needs from a venue, as one typed interface.

The agent core (books, OMS, risk, signals, the strategy's `Context`: `runtime.Runner`) trades
through a `VenuePort` and hears from it through a `PortListener`; it never knows which venue is
behind it. A connector turns its venue's wire format into these calls at the edge: prices in
ticks and quantities in lots of the instrument's grid, money in cash units, times in ns. One
implementation per venue (`connectors/agenthft`, `connectors/binance_usdm`, ...), and the two
backtest shells implement it too (`backtest/data.py`, `backtest/engine.py`).

```
strategy -> risk -> OMS -> port.place()  ==>  agenthft | binance-usdm | ... | backtest
venue events ==> connector decodes -> listener.on_book / on_trade / on_order_event -> core
```

Orders are fire-and-forget: `place` / `cancel` / `cancel_all` / `amend` return whether the
request left (False while disconnected); the venue's answer arrives as an `OrderEvent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from agenthft.book import Level
from agenthft.model import Instrument, Liquidity, OrderType, Side
from agenthft.oms import VenueFill, VenueOrder

# --- what the core sends --------------------------------------------------------------------


class OrderRequest(msgspec.Struct, frozen=True, gc=False):
    """A new order on the grid: `qty` in lots, `price` in ticks (None: a market order)."""

    order_id: str  # the client order id: a retry with the same id is the same order
    market: str
    side: Side
    qty: int
    price: int | None
    order_type: OrderType = OrderType.LIMIT
    reduce_only: bool = False


class CancelRequest(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    market: str


class CancelAllRequest(msgspec.Struct, frozen=True, gc=False):
    market: str | None = None


class AmendRequest(msgspec.Struct, frozen=True, gc=False):
    """Change a resting order's price and/or quantity (where the venue can: `caps.amend`)."""

    order_id: str
    market: str
    qty: int | None = None
    price: int | None = None


# --- what the venue answers (OrderEvent) ----------------------------------------------------


class Ack(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    venue_order_id: int
    ts_ns: int


class Rejected(msgspec.Struct, frozen=True, gc=False):
    """An order refused. `code` is agenthft's reject vocabulary (docs/protocol.md), whatever the
    venue: a connector maps its venue's codes onto it and keeps the venue's own in `reason`."""

    order_id: str
    code: str
    reason: str
    ts_ns: int


class Filled(msgspec.Struct, frozen=True, gc=False):
    fill: VenueFill  # ints: lots, ticks, cash units (fee), ns
    liquidity: Liquidity
    remaining: int  # lots left open after this fill


class Done(msgspec.Struct, frozen=True, gc=False):
    """An order ended without filling what was left: cancelled (ours, cancel-on-disconnect,
    self-trade prevention) or expired (an IOC's rest, a post-only the venue expired)."""

    order_id: str
    reason: str
    remaining: int  # lots it ended with unfilled (-1: the venue did not say)
    ts_ns: int


class CancelRefused(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    code: str
    reason: str


class Amended(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    qty: int
    price: int
    ts_ns: int


class Funding(msgspec.Struct, frozen=True, gc=False):
    """A funding payment booked on a perp position: `amount` in cash units (negative: received),
    `rate` in 1e-12 of the notional at `mark` ticks, `position` the lots it was charged on."""

    market: str
    amount: int
    rate: int
    mark: int
    position: int
    currency: str
    ts_ns: int


class Throttle(msgspec.Struct, frozen=True, gc=False):
    """The venue says slow down (a 429, usage near a limit: wait `seconds`) or has banned us
    (`ban`: a 418; the core halts and says why)."""

    seconds: float
    reason: str
    ban: bool = False


OrderEvent = Ack | Rejected | Filled | Done | CancelRefused | Amended | Funding | Throttle
#: what the core sent (observers see these: the recorder, the control plane)
Request = OrderRequest | CancelRequest | CancelAllRequest | AmendRequest


# --- reference data and reconciliation --------------------------------------------------------


class VenueLimits(msgspec.Struct, frozen=True):
    """The venue's limits for this key: the client throttles and the circuit breaker are sized
    from them (at most 80 % of the order limit). 0: not published."""

    orders_per_s: float = 0.0
    cancels_per_s: float = 0.0
    requests_per_min: float = 0.0  # REST weight (Binance) or request budget
    raw: dict[str, Any] = msgspec.field(default_factory=dict)  # the venue's own description


class AccountSnapshot(msgspec.Struct):
    """What the venue says the account has, for reconciliation: open orders and recent fills
    (read at one instant where the venue allows it: `consistent`), positions (lots, signed)
    and balances (cash units) where it reports them."""

    open_orders: list[VenueOrder]
    fills: list[VenueFill]
    positions: dict[str, int] = msgspec.field(default_factory=dict)
    balances: dict[str, int] = msgspec.field(default_factory=dict)
    consistent: bool = True


class Caps(msgspec.Struct, frozen=True):
    """What a venue can do natively."""

    amend: bool = False
    reduce_only: bool = False
    #: how the venue cancels our orders when we vanish, or "" if it does not
    cancel_on_disconnect: str = ""
    #: an ack's `ts_ns` is the venue's receive time in ns on this host's clock (a venue on
    #: loopback): the runner then splits the ack RTT there (`telemetry.SPLIT`)
    venue_clock_ns: bool = False


# --- errors a port raises from its async calls ------------------------------------------------


class VenueAuthError(PermissionError):
    """The venue refused the key (wrong key, signature, permissions): retrying will not help."""


class VenueUnreachable(ConnectionError):
    """Nothing answered like this venue at its URL (refused, timed out, not its API)."""


class VenueError(Exception):
    """The venue answered with an error (`code`: its own)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


# --- the two sides ---------------------------------------------------------------------------


class PortListener(Protocol):
    """The core's side: what a port calls as its venue speaks (`runtime.Runner`)."""

    def on_connected(self, reconnects: int) -> None: ...

    def on_disconnected(self, reason: str) -> None: ...

    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None: ...

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None: ...

    def on_order_event(self, ev: OrderEvent, recv_ns: int) -> None: ...

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None: ...


class VenuePort(Protocol):
    """One venue, as the agent core sees it."""

    name: str  # the venue kind: "agenthft", "binance-usdm", "backtest", ...
    url: str  # where it is (for messages)
    caps: Caps

    @property
    def connected(self) -> bool: ...

    @property
    def reconnects(self) -> int: ...

    @property
    def rtt_ns(self) -> int: ...

    async def instruments(self) -> list[Instrument]:
        """The venue's markets on their grids (raises VenueUnreachable / VenueAuthError)."""
        ...

    async def limits(self) -> VenueLimits: ...

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        """Connect and authenticate the streams, subscribe `markets`' books and trades and the
        account's events, then stay connected (reconnecting: `listener.on_connected` each time).
        A wrong URL or key raises here, at once."""
        ...

    def resubscribe(self, market: str) -> None:
        """A fresh book snapshot for `market` (after a sequence gap)."""
        ...

    def place(self, req: OrderRequest) -> bool: ...

    def cancel(self, order_id: str, market: str) -> bool: ...

    def cancel_all(self, market: str | None = None) -> bool:
        """Every open order (of `market`): the safety valve, never throttled by the core."""
        ...

    def amend(self, req: AmendRequest) -> bool: ...

    async def snapshot(self) -> AccountSnapshot:
        """Open orders, recent fills, positions and balances, for reconciliation."""
        ...

    async def ping(self) -> int:
        """One round trip to the venue with its cheapest request, in ns (`agenthft probe`)."""
        ...

    async def close(self) -> None: ...

    def drop(self) -> None:
        """Cut the connection now (fault injection, tests); the port reconnects."""
        ...
