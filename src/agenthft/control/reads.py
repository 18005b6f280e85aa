"""The control plane's reads (status, positions, P&L) as tables of typed snapshots: one code for a
plane over agents in its own process and for a desk's plane over strategy processes, which gets
the same `AgentSnapshot`s over the wire (control/desk/)."""

from __future__ import annotations

from typing import Any

import msgspec

from agenthft.runtime.snapshot import AgentSnapshot, RunnerSnapshot

Sessions = dict[tuple[str, str], RunnerSnapshot]


def sessions_of(agents: dict[str, AgentSnapshot]) -> Sessions:
    """Every venue session's snapshot by (strategy name, venue name)."""
    return {(a, v): snap for a, agent in agents.items() for v, snap in agent.venues.items()}


def status_of(agents: dict[str, AgentSnapshot]) -> dict[str, Any]:
    """Per strategy: running?, its parameters, and per venue: URL, connection, markets, risk
    state, first trip, open orders, limits in force, circuit breaker, the key's venue limits."""
    out: dict[str, Any] = {"strategies": {}}
    for name, agent in agents.items():
        venues = {}
        for v, snap in agent.venues.items():
            venues[v] = {
                "venue": snap.venue,
                "url": snap.url,
                "connected": snap.connected,
                "reconnects": snap.reconnects,
                "markets": sorted(snap.markets),
                "risk_state": snap.risk_state,
                "first_trip": snap.first_trip,
                "open_orders": len(snap.open_orders),
                "limits": msgspec.to_builtins(snap.limits),
                "circuit_breaker_per_s": snap.rates.circuit_breaker_per_s,
                "venue_limits": msgspec.to_builtins(snap.venue_limits),
            }
        out["strategies"][name] = {
            "strategy": agent.strategy,
            "running": agent.running,
            "params": agent.params,
            "venues": venues,
        }
    return out


def positions_of(snaps: Sessions) -> dict[str, dict[str, str]]:
    """Per strategy: net positions by VENUE:MARKET, decimals (flat markets left out)."""
    out: dict[str, dict[str, str]] = {}
    for (a, v), snap in snaps.items():
        mine = out.setdefault(a, {})
        for m, qty in snap.positions.items():
            mine[f"{v}:{m}"] = qty
    return out


PNL_KEYS = ("realized", "unrealized", "fees", "funding", "after_fees")


def pnl_of(snaps: Sessions) -> dict[str, Any]:
    """Realized, unrealized, fees (negative: rebates) and after fees, in the quote currency:
    per strategy and venue, per strategy, and the total."""
    strategies: dict[str, Any] = {}
    currencies: set[str] = set()
    for (a, v), snap in snaps.items():
        one: dict[str, Any] = snap.session.as_dict()
        one["after_fees"] = one.pop("net")
        one["account"] = snap.account.as_dict()  # earlier sessions included
        currencies.add(snap.session.currency)
        strategies.setdefault(a, {"venues": {}})["venues"][v] = one
    for s in strategies.values():
        s["total"] = {k: round(sum(v[k] for v in s["venues"].values()), 8) for k in PNL_KEYS}
    total: dict[str, Any] = {k: round(sum(s["total"][k] for s in strategies.values()), 8) for k in PNL_KEYS}
    total["currency"] = "+".join(sorted(currencies))
    if len(currencies) > 1:
        total["note"] = "sums figures in different currencies (see each venue's currency)"
    return {"total": total, "strategies": strategies}
