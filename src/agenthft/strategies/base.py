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


class Interest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a strategy reads of the market, declared so that a data path may skip waking it when
    none of that changed (the compiled backtest does; docs/backtest.md, "The wake-up rule").

    The promise it makes: `on_book` decides from the best `depth` levels of each side (their
    prices, and their quantities when `sizes`), its own orders and positions, and whether its
    previous requests went out; not from the clock or deeper levels. It is then still woken at
    every message that changes those levels, after any event about its orders, and after a wake
    in which a request was refused. A strategy that acts on time or on the whole book declares
    nothing (`interest = None`, the default) and is woken by every message, as live."""

    depth: int = 1  # levels per side, best first
    sizes: bool = True  # False: only their prices
    trades: bool = False  # on_trade gets the trades priced within those levels (False: none)


class Strategy:
    """Override what you need; every hook gets the context.

    Parameters: declare them as a msgspec Struct (or a dataclass) in `Params`; `agenthft run`
    converts `--param k=v` / `--params FILE.toml` to it and calls `from_params`, whose default
    passes the fields to `__init__` by name."""

    name = "base"
    markets: tuple[str, ...] = ()
    Params: ClassVar[type | None] = None
    uses_signals: ClassVar[bool] = False  # the runtime feeds the microstructure detectors for it
    interest: ClassVar[Interest | None] = None  # what it reads of the market (None: everything)

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
