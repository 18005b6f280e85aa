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
    def __init__(self, agent: Any, tokens: dict[str, Token] | None = None) -> None:
        """`agent`: a Runner or a MultiRunner. `tokens`: secret -> Token."""
        self.agent = agent
        self.tokens = tokens or {}
        self.audit_log: deque[AuditRecord] = deque(maxlen=1000)
        self.signal_log: deque[dict[str, Any]] = deque(maxlen=200)
        for r in self._runners():
            previous = r.on_event

            def tap(kind: str, payload: Any, previous: Any = previous) -> None:
                if kind == "signal":
                    self.signal_log.append(msgspec.to_builtins(payload))
                if previous is not None:
                    previous(kind, payload)

            r.on_event = tap

    # --- auth -------------------------------------------------------------------------------
    def who(self, secret: str | None) -> Token | None:
        return self.tokens.get(secret or "")

    # --- helpers ------------------------------------------------------------------------------
    def _runners(self) -> list[Runner]:
        runners = getattr(self.agent, "runners", None)
        return list(runners.values()) if runners is not None else [self.agent]

    def _named(self) -> dict[str, Runner]:
        runners = getattr(self.agent, "runners", None)
        return dict(runners) if runners is not None else {"venue": self.agent}

    def _audit(self, who: str, action: str, args: dict[str, Any], outcome: str) -> None:
        now = time.time_ns()
        rec = AuditRecord(now, who, action, args, outcome)
        self.audit_log.append(rec)
        for r in self._runners():
            if r.journal is not None:
                r.journal.record("audit", "", now, rec)

    # --- reads ----------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.agent.strategy.name, "running": bool(self.agent.started), "venues": {}}
        for name, r in self._named().items():
            out["venues"][name] = {
                "url": r.ws_url,
                "connected": bool(r.session is not None and r.session.connected.is_set()),
                "reconnects": r.session.reconnects if r.session is not None else 0,
                "markets": sorted(r.books),
                "risk_state": r.risk.state.value,
                "first_trip": None if r.risk.first_trip is None else str(r.risk.first_trip),
                "open_orders": len(r.oms.live),
                "limits": msgspec.to_builtins(r.risk.config),
                "circuit_breaker_per_s": r.risk.max_orders_per_s,
            }
        return out

    def positions(self) -> dict[str, Any]:
        out = {}
        for name, r in self._named().items():
            for m, p in r.oms.positions.items():
                inst = r.instruments.get(m)
                if inst is not None and p.size:
                    out[f"{name}:{m}"] = inst.lots_to_qty(p.size)
        return out

    def pnl(self) -> dict[str, Any]:
        per = {}
        for name, r in self._named().items():
            realized, unrealized, fees = r.oms.pnl(r.marks())
            per[name] = {"realized": realized / 1e12, "unrealized": unrealized / 1e12, "fees": fees / 1e12}
        total = {k: sum(v[k] for v in per.values()) for k in ("realized", "unrealized", "fees")}
        total["after_fees"] = total["realized"] - total["fees"] + total["unrealized"]
        return {"total": total, "venues": per}

    def open_orders(self) -> list[dict[str, Any]]:
        out = []
        for name, r in self._named().items():
            for o in r.oms.live.values():
                inst = r.instruments[o.market]
                out.append(
                    {
                        "venue": name,
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

    def latency(self) -> dict[str, Any]:
        return {name: r.telemetry.snapshot() for name, r in self._named().items()}

    def risk_events(self, limit: int = 50) -> dict[str, Any]:
        return {
            name: {"counts": dict(r.risk.counts), "recent": [str(e) for e in list(r.risk.events)[-limit:]]}
            for name, r in self._named().items()
        }

    def signal_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.signal_log)[-limit:]

    def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(a) for a in list(self.audit_log)[-limit:]]

    # --- actions ------------------------------------------------------------------------------------
    def set_limits(self, who: Token, changes: dict[str, Any], venue: str | None = None) -> dict[str, Any]:
        """New risk limits on every venue (or one): validated first, effective at the next check."""
        self._act(who)
        targets = self._pick(venue)
        try:
            from agenthft.risk import RiskConfig

            msgspec.convert(msgspec.structs.asdict(RiskConfig()) | changes, RiskConfig, strict=False)
            for r in targets.values():
                r.risk.reconfigure(changes)
        except (msgspec.ValidationError, ValueError, TypeError) as e:
            self._audit(who.name, "set_limits", changes, f"refused: {e}")
            raise ControlError(f"limits refused: {e}") from None
        self._audit(who.name, "set_limits", changes, f"in force on {sorted(targets)}")
        return {n: msgspec.to_builtins(r.risk.config) for n, r in targets.items()}

    def kill(self, who: Token, reason: str = "") -> dict[str, Any]:
        """Cancel every order on every venue and halt (the manual override)."""
        self._act(who)
        for r in self._runners():
            r.manual_override(f"control:{who.name}")
        self._audit(who.name, "kill", {"reason": reason}, "halted, cancel-all sent")
        return self.status()

    def resume(self, who: Token) -> dict[str, Any]:
        """Back to active after a halt: only ever by this explicit call."""
        self._act(who)
        for r in self._runners():
            r.resume(f"control:{who.name}")
        self._audit(who.name, "resume", {}, "active")
        return self.status()

    def stop_strategy(self, who: Token, cancel_orders: bool = True) -> dict[str, Any]:
        """The strategy stops deciding (hooks paused); with `cancel_orders`, its orders are pulled."""
        self._act(who)
        self.agent.started = False
        for r in self._runners():
            r.started = False
            if cancel_orders and r.oms.live:
                r.cancel_all()
        self._audit(who.name, "stop_strategy", {"cancel_orders": cancel_orders}, "stopped")
        return self.status()

    def start_strategy(self, who: Token) -> dict[str, Any]:
        self._act(who)
        for r in self._runners():
            r.started = True
        self.agent.started = True
        self._audit(who.name, "start_strategy", {}, "running")
        return self.status()

    def set_params(self, who: Token, params: dict[str, Any]) -> dict[str, Any]:
        """New strategy parameters: a fresh instance from its typed Params (validated), swapped in
        between two events; the old one's orders are cancelled first (their state is its own)."""
        self._act(who)
        from agenthft.strategies.loader import StrategyError, build

        old = self.agent.strategy
        try:
            current = _current_params(old)
            new = build(type(old), current | params)
        except (StrategyError, ValueError, TypeError) as e:
            self._audit(who.name, "set_params", params, f"refused: {e}")
            raise ControlError(f"parameters refused: {e}") from None
        if tuple(new.markets) != tuple(old.markets):
            self._audit(who.name, "set_params", params, "refused: markets cannot change live")
            raise ControlError("parameters refused: a running strategy cannot change its markets")
        for r in self._runners():
            if r.oms.live:
                r.cancel_all()
        self._swap(new)
        self._audit(who.name, "set_params", params, "in force")
        return _current_params(new)

    def _swap(self, new: Any) -> None:
        """Between two events (the loop is single-threaded): the runner (or every venue's adapter
        through the MultiRunner) calls the new instance from the next event on."""
        self.agent.strategy = new
        new.on_start(self.agent)

    def _specs(self, spec: dict[str, Any]) -> list[Any]:
        from agenthft.backtest.sweep import grid

        raw = spec.get("params", {})
        if not isinstance(raw, dict):
            raise ControlError("'params' must be an object of name -> value (or a list of values: a sweep)")
        params = {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}
        return grid(
            spec.get("strategy", self.agent.strategy.name),
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

    def _pick(self, venue: str | None) -> dict[str, Runner]:
        named = self._named()
        if venue is None:
            return named
        if venue not in named:
            raise ControlError(f"no venue {venue!r}; venues: {sorted(named)}")
        return {venue: named[venue]}


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
