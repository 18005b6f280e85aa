"""The supervising agent's controls, as plain methods over a running agent (a `Runner`, or a
`MultiRunner` across venues). Never on the hot path: reads are snapshots of state the loop keeps
anyway, and actions go through the same risk and OMS paths as everything else (the kill switch
is the runner's manual override; new limits are the risk engine's own validated config).

Every action is audited in the journal (`audit` rows: who, what, when, the outcome) and kept in
memory for `audit()`. Who is the token's name; a read-only token can read and not act (the HTTP
and MCP shells check `can_act` before calling an action).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import msgspec

from agenthft.runtime.multi import sessions
from agenthft.runtime.runner import Runner


class Token(msgspec.Struct, frozen=True):
    name: str
    read_only: bool = False


class ControlError(ValueError):
    """A refused or invalid control request (the message says which field and why)."""


class AuditRecord(msgspec.Struct):
    ts_ns: int
    who: str
    action: str
    args: dict[str, Any]
    outcome: str


class ControlPlane:
    def __init__(self, agents: Any, tokens: dict[str, Token] | None = None) -> None:
        """`agents`: one agent (a Runner or a MultiRunner), or several by name (a desk of
        strategies, each its own agent with its own keys and risk). `tokens`: secret -> Token."""
        self.agents: dict[str, Any] = dict(agents) if isinstance(agents, dict) else {agents.strategy.name: agents}
        if not self.agents:
            raise ValueError("a control plane needs at least one agent")
        self.tokens = tokens or {}
        self.audit_log: deque[AuditRecord] = deque(maxlen=1000)
        self.signal_log: deque[dict[str, Any]] = deque(maxlen=200)
        self.signal_total = 0
        self._latency: dict[tuple[str, str], dict[str, Any]] = {}  # view()'s percentiles, in turn
        self._turn = 0
        for name, agent in self.agents.items():
            for r in sessions(agent).values():
                previous = r.on_event

                def tap(kind: str, payload: Any, previous: Any = previous, name: str = name, r: Runner = r) -> None:
                    if kind == "signal":
                        alert = {"strategy": name} | msgspec.to_builtins(payload)
                        inst = r.instruments.get(payload.market)
                        if inst is not None:  # ticks as the market's decimal price, for a reader
                            alert["price"] = inst.ticks_to_price(payload.price)
                        self.signal_log.append(alert)
                        self.signal_total += 1
                    if previous is not None:
                        previous(kind, payload)

                r.on_event = tap

    # --- auth -------------------------------------------------------------------------------
    def who(self, secret: str | None) -> Token | None:
        return self.tokens.get(secret or "")

    # --- helpers ------------------------------------------------------------------------------
    def runners(self) -> dict[tuple[str, str], Runner]:
        """Every venue session of every agent, by (strategy name, venue name)."""
        return {(a, v): r for a, agent in self.agents.items() for v, r in sessions(agent).items()}

    def _audit(self, who: str, action: str, args: dict[str, Any], outcome: str) -> None:
        now = time.time_ns()
        rec = AuditRecord(now, who, action, args, outcome)
        self.audit_log.append(rec)
        for r in self.runners().values():
            if r.journal is not None:
                r.journal.record("audit", "", now, rec)

    # --- reads ----------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Per strategy: running?, its parameters, and per venue: URL, connection, markets, risk
        state, first trip, open orders, limits in force, circuit breaker."""
        out: dict[str, Any] = {"strategies": {}}
        for name, agent in self.agents.items():
            venues = {}
            for v, r in sessions(agent).items():
                venues[v] = {
                    "url": r.ws_url,
                    "connected": bool(r.session is not None and r.session.connected.is_set()),
                    "reconnects": r.session.reconnects if r.session is not None else 0,
                    "markets": sorted(r.books),
                    "risk_state": r.risk.state.value,
                    "first_trip": None if r.risk.first_trip is None else str(r.risk.first_trip),
                    "open_orders": len(r.oms.live),
                    "limits": msgspec.to_builtins(r.risk.config),
                    "circuit_breaker_per_s": r.risk.max_orders_per_s,
                    "venue_limits": dict(r.venue_limits),
                }
            out["strategies"][name] = {
                "strategy": agent.strategy.name,
                "running": bool(agent.started),
                "params": getattr(agent.strategy, "_control_params", None),
                "venues": venues,
            }
        return out

    def positions(self) -> dict[str, dict[str, str]]:
        """Per strategy: net positions by VENUE:MARKET, decimals (flat markets left out)."""
        out: dict[str, dict[str, str]] = {}
        for (a, v), r in self.runners().items():
            mine = out.setdefault(a, {})
            for m, p in r.oms.positions.items():
                inst = r.instruments.get(m)
                if inst is not None and p.size:
                    mine[f"{v}:{m}"] = inst.lots_to_qty(p.size)
        return out

    def pnl(self) -> dict[str, Any]:
        """Realized, unrealized, fees (negative: rebates) and after fees, in the quote currency:
        per strategy and venue, per strategy, and the desk's total."""
        keys = ("realized", "unrealized", "fees", "funding", "after_fees")
        strategies: dict[str, Any] = {}
        currencies: set[str] = set()
        for (a, v), r in self.runners().items():
            pnl = r.oms.pnl(r.marks())
            one: dict[str, Any] = pnl.as_dict()
            one["after_fees"] = one.pop("net")
            currencies.add(pnl.currency)
            strategies.setdefault(a, {"venues": {}})["venues"][v] = one
        for s in strategies.values():
            s["total"] = {k: round(sum(v[k] for v in s["venues"].values()), 8) for k in keys}
        total: dict[str, Any] = {k: round(sum(s["total"][k] for s in strategies.values()), 8) for k in keys}
        total["currency"] = "+".join(sorted(currencies))
        if len(currencies) > 1:
            total["note"] = "sums figures in different currencies (see each venue's currency)"
        return {"total": total, "strategies": strategies}

    def open_orders(self) -> list[dict[str, Any]]:
        out = []
        for (a, v), r in self.runners().items():
            for o in r.oms.live.values():
                inst = r.instruments[o.market]
                out.append(
                    {
                        "strategy": a,
                        "venue": v,
                        "order_id": o.order_id,
                        "market": o.market,
                        "side": o.side.value,
                        "price": None if o.price is None else inst.ticks_to_price(o.price),
                        "qty": inst.lots_to_qty(o.qty),
                        "filled": inst.lots_to_qty(o.filled),
                        "status": o.status.value,
                    }
                )
        return out

    def latency(self) -> dict[str, dict[str, Any]]:
        """Per strategy and venue: the telemetry's percentiles."""
        out: dict[str, dict[str, Any]] = {}
        for (a, v), r in self.runners().items():
            out.setdefault(a, {})[v] = r.telemetry.snapshot()
        return out

    def risk_events(self, limit: int = 50) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for (a, v), r in self.runners().items():
            recent = [str(e) for e in list(r.risk.events)[-limit:]]
            out.setdefault(a, {})[v] = {
                "counts": dict(r.risk.counts),
                "rejects": r.risk.reject_summary(),
                "recent": recent,
            }
        return out

    def signal_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.signal_log)[-limit:]

    def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(a) for a in list(self.audit_log)[-limit:]]

    def view(self, levels: int = 3) -> dict[str, Any]:
        """Everything a dashboard draws, in one JSON snapshot (`GET /v1/view`): each market's
        top levels once, per strategy and venue its position, P&L, fills, open orders, the
        orders and cancels sent so far beside the venue's limits, risk; latency percentiles;
        recent risk events and signal alerts. Cheap enough to poll a few times a second: the
        percentiles (the one costly read) are refreshed for one venue session per call, in turn."""
        import time as _time

        runners = self.runners()
        pnl = self.pnl()
        books: dict[tuple[str, str], dict[str, Any]] = {}
        rows = []
        for (a, v), r in runners.items():
            for m, book in r.books.items():
                if (r.ws_url, m) not in books:
                    inst = r.instruments[m]
                    bids, asks = book.depth(levels)
                    label = v if v != "venue" else r.ws_url.split("//")[-1].split("/")[0]
                    books[(r.ws_url, m)] = {
                        "market": f"{label}:{m}",
                        "bids": [[inst.ticks_to_price(px), inst.lots_to_qty(q)] for px, q in bids],
                        "asks": [[inst.ticks_to_price(px), inst.lots_to_qty(q)] for px, q in asks],
                    }
            positions = {
                m: r.instruments[m].lots_to_qty(p.size)
                for m, p in r.oms.positions.items()
                if p.size and m in r.instruments
            }
            rows.append(
                {
                    "strategy": a,
                    "venue": v,
                    "positions": positions,
                    "pnl_after_fees": pnl["strategies"][a]["venues"][v]["after_fees"],
                    "fills": len(r.oms.seen_fills),
                    "open_orders": len(r.oms.live),
                    "sent_orders": r.sent_orders,
                    "sent_cancels": r.sent_cancels,
                    "venue_orders_per_s": r.venue_limits.get("orders_per_s"),
                    "venue_cancels_per_s": r.venue_limits.get("cancels_per_s"),
                    "circuit_breaker_per_s": r.risk.max_orders_per_s,
                    "risk_state": r.risk.state.value,
                    "connected": bool(r.session is not None and r.session.connected.is_set()),
                    "risk_counts": dict(sorted(r.risk.counts.items())),
                    "rejects": {"faults": r.risk.faults, "benign": r.risk.benign},
                    "risk_recent": [str(e) for e in list(r.risk.events)[-2:]],
                }
            )
        keys = list(runners)
        stale = [k for k in keys if k not in self._latency] or [keys[self._turn % len(keys)]]
        self._turn += 1
        self._latency[stale[0]] = runners[stale[0]].telemetry.snapshot()
        latency = [
            {"strategy": a, "venue": v} | {"histogram": h} | snap[h]
            for (a, v) in keys
            if (snap := self._latency.get((a, v))) is not None
            for h in ("tick_to_trade", "ack_rtt", "fill_latency")
            if snap[h].get("count")
        ]
        return {
            "t": _time.monotonic(),
            "pnl_after_fees": pnl["total"]["after_fees"],
            "books": list(books.values()),
            "rows": rows,
            "latency": latency,
            "signals": {"count": self.signal_total, "recent": list(self.signal_log)[-6:]},
        }

    # --- actions ------------------------------------------------------------------------------------
    def set_limits(
        self, who: Token, changes: dict[str, Any], venue: str | None = None, strategy: str | None = None
    ) -> dict[str, Any]:
        """New risk limits on every strategy's every venue (or the named ones): validated first,
        effective at the next check."""
        self._act(who)
        args = {"limits": changes, "strategy": strategy, "venue": venue}
        targets = self._pick(strategy, venue)
        try:
            from agenthft.risk import RiskConfig

            msgspec.convert(msgspec.structs.asdict(RiskConfig()) | changes, RiskConfig, strict=False)
            for r in targets.values():
                r.risk.reconfigure(changes)
        except (msgspec.ValidationError, ValueError, TypeError) as e:
            self._audit(who.name, "set_limits", args, f"refused: {e}")
            raise ControlError(f"limits refused: {e}") from None
        self._audit(who.name, "set_limits", args, f"in force on {sorted('/'.join(k) for k in targets)}")
        out: dict[str, dict[str, Any]] = {}
        for (a, v), r in targets.items():
            out.setdefault(a, {})[v] = msgspec.to_builtins(r.risk.config)
        return out

    def kill(self, who: Token, reason: str = "", strategy: str | None = None) -> dict[str, Any]:
        """Cancel every order on every venue and halt: the whole desk, or one strategy."""
        self._act(who)
        for r in self._pick(strategy).values():
            r.manual_override(f"control:{who.name}")
        self._audit(who.name, "kill", {"reason": reason, "strategy": strategy}, "halted, cancel-all sent")
        return self.status()

    def resume(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        """Back to active after a halt: only ever by this explicit call."""
        self._act(who)
        for r in self._pick(strategy).values():
            r.resume(f"control:{who.name}")
        self._audit(who.name, "resume", {"strategy": strategy}, "active")
        return self.status()

    def stop_strategy(self, who: Token, strategy: str | None = None, cancel_orders: bool = True) -> dict[str, Any]:
        """The strategy stops deciding (hooks paused); with `cancel_orders`, its orders are pulled."""
        self._act(who)
        name, agent = self._one(strategy, who, "stop_strategy")
        agent.started = False
        for r in sessions(agent).values():
            r.started = False
            if cancel_orders and r.oms.live:
                r.cancel_all()
        self._audit(who.name, "stop_strategy", {"strategy": name, "cancel_orders": cancel_orders}, "stopped")
        return self.status()

    def start_strategy(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        self._act(who)
        name, agent = self._one(strategy, who, "start_strategy")
        for r in sessions(agent).values():
            r.started = True
        agent.started = True
        self._audit(who.name, "start_strategy", {"strategy": name}, "running")
        return self.status()

    def set_params(self, who: Token, params: dict[str, Any], strategy: str | None = None) -> dict[str, Any]:
        """New strategy parameters: a fresh instance from its typed Params (validated), swapped in
        between two events; the old one's orders are cancelled first (their state is its own)."""
        self._act(who)
        from agenthft.strategies.loader import StrategyError, build

        name, agent = self._one(strategy, who, "set_params")
        args = {"strategy": name, "params": params}
        old = agent.strategy
        try:
            current = _current_params(old)
            new = build(type(old), current | params)
        except (StrategyError, ValueError, TypeError) as e:
            self._audit(who.name, "set_params", args, f"refused: {e}")
            raise ControlError(f"parameters refused: {e}") from None
        if tuple(new.markets) != tuple(old.markets):
            self._audit(who.name, "set_params", args, "refused: markets cannot change live")
            raise ControlError("parameters refused: a running strategy cannot change its markets")
        for r in sessions(agent).values():
            if r.oms.live:
                r.cancel_all()
        # between two events (the loop is single-threaded): the runner (or every venue's adapter
        # through the MultiRunner) calls the new instance from the next event on
        agent.strategy = new
        new.on_start(agent)
        self._audit(who.name, "set_params", args, "in force")
        return _current_params(new)

    def _specs(self, spec: dict[str, Any]) -> list[Any]:
        from agenthft.backtest.sweep import grid

        raw = spec.get("params", {})
        if not isinstance(raw, dict):
            raise ControlError("'params' must be an object of name -> value (or a list of values: a sweep)")
        params = {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}
        default = next(iter(self.agents.values())).strategy.name
        return grid(
            spec.get("strategy", default),
            spec.get("scenario", "calm"),
            float(spec.get("seconds", 10)),
            params,
            [spec.get("latency", "colocated")],
            [int(spec.get("seed", 1))],
            spec.get("data", ()),
        )

    def run_backtest(self, who: Token, spec: dict[str, Any]) -> dict[str, Any]:
        """A backtest (a sweep when a parameter has a list of values), here: its summary rows."""
        self._act(who)
        from agenthft.backtest.sweep import run_one

        rows = [run_one(s) for s in self._specs(spec)]
        self._audit(who.name, "backtest", spec, f"{len(rows)} run(s)")
        return {"runs": rows}

    async def run_backtest_async(self, who: Token, spec: dict[str, Any]) -> dict[str, Any]:
        """The same in a worker process, so the agent's loop (and its GIL) keeps trading."""
        import asyncio
        from concurrent.futures import ProcessPoolExecutor

        from agenthft.backtest.sweep import run_one

        self._act(who)
        specs = self._specs(spec)
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=1) as pool:
            rows = [await loop.run_in_executor(pool, run_one, s) for s in specs]
        self._audit(who.name, "backtest", spec, f"{len(rows)} run(s)")
        return {"runs": rows}

    def _act(self, who: Token) -> None:
        if who.read_only:
            self._audit(who.name, "denied", {}, "read-only token")
            raise PermissionError(f"token {who.name!r} is read-only")

    def _one(self, strategy: str | None, who: Token, action: str) -> tuple[str, Any]:
        """The agent an action names; with one agent the name may be left out."""
        if strategy is None and len(self.agents) == 1:
            return next(iter(self.agents.items()))
        if strategy not in self.agents:
            why = "name one" if strategy is None else f"no strategy {strategy!r}"
            self._audit(who.name, action, {"strategy": strategy}, f"refused: {why}")
            raise ControlError(f"{why}; strategies: {sorted(self.agents)}")
        return strategy, self.agents[strategy]

    def _pick(self, strategy: str | None = None, venue: str | None = None) -> dict[tuple[str, str], Runner]:
        every = self.runners()
        if strategy is not None and strategy not in self.agents:
            raise ControlError(f"no strategy {strategy!r}; strategies: {sorted(self.agents)}")
        picked = {k: r for k, r in every.items() if strategy in (None, k[0]) and venue in (None, k[1])}
        if not picked:
            raise ControlError(f"no venue {venue!r}; venues: {sorted({v for _, v in every})}")
        return picked


def _current_params(strategy: Any) -> dict[str, Any]:
    """The strategy's parameters as it was built (its Params fields from its attributes where
    they exist under the same name; the rest keep their defaults)."""
    cls = getattr(strategy, "Params", None)
    if cls is None:
        raise ControlError(f"{type(strategy).__name__} declares no Params: nothing to set")
    saved = getattr(strategy, "_control_params", None)
    if saved is not None:
        return dict(saved)
    return {}
