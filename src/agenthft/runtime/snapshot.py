"""One typed snapshot of an agent's state, read at one instant: what the run summary, the
control plane (status, positions, P&L, the dashboard's view) and the results recorder all
report, so none of them spells the same figures out of the runner's internals on its own. It is
also the wire format of a desk of processes: each strategy process serves its `AgentSnapshot`
and the desk's control plane aggregates those (control/desk/).

Money stays integer cash units (`Pnl`) until it is shown; quantities and prices are given as
decimals on the market's grid (and lots / ticks where a table needs numbers)."""

from __future__ import annotations

from typing import Any

import msgspec

from agenthft.connectors.port import VenueLimits
from agenthft.oms.positions import Pnl
from agenthft.risk import RiskConfig


class MarketState(msgspec.Struct, frozen=True):
    """A market the strategy trades: position and mark (None until the venue gave one)."""

    position: str  # decimal on the lot grid
    position_lots: int
    mark: str | None  # decimal on the tick grid
    mark_value: float | None  # the same, as a number for charts (display only)


class Rates(msgspec.Struct, frozen=True):
    """Orders and cancels sent so far beside the limits that pace them."""

    sent_orders: int
    sent_cancels: int
    venue_orders_per_s: float | None
    venue_cancels_per_s: float | None
    client_orders_per_s: float
    circuit_breaker_per_s: float


class RunnerSnapshot(msgspec.Struct, frozen=True):
    strategy: str
    venue: str  # the connector's name
    url: str
    connected: bool
    reconnects: int
    running: bool  # the strategy's hooks are live (after on_start, before on_stop)
    markets: dict[str, MarketState]  # the markets the strategy trades
    positions: dict[str, str]  # every listed market with a position (a carried one included), decimals
    session: Pnl  # this session's fills, fees and funding (a carried position from its first mark)
    account: Pnl  # the account's totals, earlier sessions included
    fills: int  # this session's
    fills_total: int  # the account's, as far as this agent knows
    open_orders: tuple[str, ...]
    rates: Rates
    risk_state: str
    first_trip: str | None
    risk_counts: dict[str, int]
    faults: int
    benign: int
    limits: RiskConfig | None = None  # the risk limits in force (None: an aggregate of several)
    venue_limits: VenueLimits | None = None  # the key's limits as the venue published them


class AgentSnapshot(msgspec.Struct, frozen=True):
    """One strategy's agent: what it runs, with which parameters, and each venue session's
    snapshot by venue name (`venue` for a single venue, a MultiRunner's leg names)."""

    strategy: str  # the strategy's kind (its `name`)
    running: bool
    params: dict[str, Any] | None  # as built or last set (None: it declares no Params)
    venues: dict[str, RunnerSnapshot]
