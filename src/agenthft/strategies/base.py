"""The one strategy interface, for live trading, the simulator and replay.

A strategy sees a narrow context: books, its own orders and positions (the OMS), the clock,
and submit / cancel / cancel_all, which the runtime routes through risk. It never touches a
socket, and it takes time only from `ctx.now_ns`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import msgspec

from agenthft.book import L2Book
from agenthft.model import Instrument, OrderType, Side
from agenthft.oms import ClientOrder, PositionBook, VenueFill
from agenthft.signals import MarketSignals, SignalEvent


class OrdersView(Protocol):
    """What a strategy reads of its orders and positions (one venue's `OrderManager`, or the
    view across venues of a `MultiRunner`)."""

    @property
    def positions(self) -> Mapping[str, PositionBook]: ...

    @property
    def orders(self) -> Mapping[str, ClientOrder]: ...

    def open_orders(self, market: str | None = None) -> list[ClientOrder]: ...


class Context(Protocol):
    """Read-only views and three actions. One venue: the `Runner`; several: a `MultiRunner`,
    whose markets are `VENUE:MARKET`."""

    @property
    def now_ns(self) -> int: ...

    @property
    def books(self) -> Mapping[str, L2Book]: ...

    @property
    def oms(self) -> OrdersView: ...

    @property
    def instruments(self) -> Mapping[str, Instrument]: ...

    @property
    def signals(self) -> Mapping[str, MarketSignals]: ...  # per market, when the strategy sets `uses_signals`

    def submit(
        self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT
    ) -> ClientOrder | None: ...

    def cancel(self, order_id: str) -> bool: ...

    def cancel_all(self, market: str | None = None) -> None: ...


class Strategy:
    """Override what you need; every hook gets the context.

    Parameters: declare them as a msgspec Struct (or a dataclass) in `Params`; `agenthft run`
    converts `--param k=v` / `--params FILE.toml` to it and calls `from_params`, whose default
    passes the fields to `__init__` by name."""

    name = "base"
    markets: tuple[str, ...] = ()
    Params: ClassVar[type | None] = None
    uses_signals: ClassVar[bool] = False  # the runtime feeds the microstructure detectors for it

    @classmethod
    def from_params(cls, params: Any) -> Strategy:
        fields = msgspec.structs.asdict(params) if isinstance(params, msgspec.Struct) else dataclasses.asdict(params)
        return cls(**fields)

    def on_start(self, ctx: Context) -> None:
        pass

    def on_book(self, ctx: Context, market: str) -> None:
        pass

    def on_trade(self, ctx: Context, market: str, price: int, qty: int, aggressor: Side) -> None:
        pass

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        pass

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        pass

    def on_signal(self, ctx: Context, event: SignalEvent) -> None:
        """A detector fired (spoof, absorption, iceberg, cancel cascade), with its suggested response."""
