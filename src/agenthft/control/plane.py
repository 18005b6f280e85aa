"""The supervising agent's controls, as plain methods over a running agent (a `Runner`, or a
`MultiRunner` across venues). Never on the hot path: reads are snapshots of state the loop keeps
anyway, and actions go through the same risk and OMS paths as everything else (the kill switch
is the runner's manual override; new limits are the risk engine's own validated config).

Every action is audited in the journal (`audit` rows: who, what, when, the outcome) and kept in
memory for `audit()`. Who is the token's name; a read-only token can read and not act (every
action refuses it, and the doors refuse it first: HTTP 403, MCP hides the actions from it).

Research before deploying (`control/research.py`): the strategies and their parameters, the
recorded data to backtest on, backtests in a worker process; then `deploy` starts a new strategy
on one of the plane's venues, next to the ones it supervises.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from typing import Any

import msgspec

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.control.reads import pnl_of, positions_of, sessions_of, status_of
from agenthft.control.research import Progress, Research, ResearchError, strategy_catalog
from agenthft.runtime.multi import agent_snapshot, sessions
from agenthft.runtime.runner import Observer, Runner
from agenthft.runtime.snapshot import AgentSnapshot, RunnerSnapshot


async def _quiet(progress: float, total: float, message: str) -> None:
    return None


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


class _SignalTap(Observer):
    """The plane's ear on a runner: signal alerts into its log, prices on the market's grid."""

    def __init__(self, plane: ControlPlane, strategy: str) -> None:
        self.plane, self.strategy = plane, strategy

    def on_event(self, runner: Runner, kind: str, payload: Any) -> None:
        if kind != "signal":
            return
        alert = {"strategy": self.strategy} | msgspec.to_builtins(payload)
        inst = runner.instruments.get(payload.market)
        if inst is not None:  # ticks as the market's decimal price, for a reader
            alert["price"] = inst.ticks_to_price(payload.price)
        self.plane.signal_log.append(alert)
        self.plane.signal_total += 1


async def settle(answer: Any) -> Any:
    """A plane's answer: given in place (agents in this process) or awaited (a desk of processes
    asks its strategies over the wire); the doors take either."""
    return await answer if inspect.isawaitable(answer) else answer


class BasePlane:
    """What every plane shares: tokens checked at the door, the audit trail, the research seat
    (strategies, data, backtests). The reads and actions below are answered in place
    (`ControlPlane`: the agents are in this process) or awaited (`control.desk.DeskPlane`: each
    strategy in its own process); the doors `settle` either."""

    def __init__(self, tokens: dict[str, Token] | None = None, research: Research | None = None) -> None:
        self.tokens = tokens or {}
        self.research = research or Research()
        self.audit_log: deque[AuditRecord] = deque(maxlen=1000)

    # --- auth and audit -------------------------------------------------------------------------
    def who(self, secret: str | None) -> Token | None:
        return self.tokens.get(secret or "")

    def _audit(self, who: str, action: str, args: dict[str, Any], outcome: str) -> None:
        rec = AuditRecord(time.time_ns(), who, action, args, outcome)
        self.audit_log.append(rec)
        self._journal_audit(rec)

    def _journal_audit(self, rec: AuditRecord) -> None:
        """Where else the record is kept (a plane over runners: their journals)."""

    def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(a) for a in list(self.audit_log)[-limit:]]

    def _act(self, who: Token, action: str = "") -> None:
        if who.read_only:
            raise PermissionError(self.refuse(who, action))

    def refuse(self, who: Token, action: str) -> str:
        """Audit a read-only token's attempt at an action; the one-line answer to give it."""
        self._audit(who.name, "denied", {"action": action} if action else {}, "read-only token")
        return f"token {who.name!r} is read-only: {action or 'actions'} refused (it may read)"

    # --- research -------------------------------------------------------------------------------
    def venue_names(self) -> list[str]:
        """The venues a new strategy can be started on."""
        return []

    def default_strategy(self) -> str:
        """What a backtest runs when the request names no strategy."""
        return "quoter"

    def strategies(self) -> dict[str, Any]:
        """What can be backtested and deployed: each shipped strategy with its typed parameters,
        and the venues a new strategy can be started on."""
        return {
            "strategies": strategy_catalog(),
            "venues": self.venue_names(),
            "note": "a strategy in a file or package also works: MODULE:CLASS or FILE.py:CLASS",
        }

    async def data(self, decode: bool = True, progress: Progress = _quiet) -> list[dict[str, Any]]:
        """The recorded data to backtest on (`Research.list_data`)."""
        try:
            return await self.research.list_data(decode, progress)
        except ResearchError as e:
            raise ControlError(str(e)) from None

    async def backtest(self, who: Token, spec: dict[str, Any], progress: Progress = _quiet) -> dict[str, Any]:
        """A backtest (a sweep when a parameter has a list of values) in a worker process, so the
        agents keep trading: `spec` = {strategy, params, data (a data set id or files) or
        scenario (+ seconds), seed, latency, options (data flags), risk (RiskConfig fields)}.
        Each run's summary, and its results folder with report.html."""
        self._act(who, "run_backtest")
        try:
            out = await self.research.backtest(spec, self.default_strategy(), progress)
        except ResearchError as e:
            self._audit(who.name, "backtest", spec, f"refused: {e}")
            raise ControlError(str(e)) from None
        self._audit(who.name, "backtest", spec, f"{len(out['runs'])} run(s) in {out['folder']}")
        return out

    # --- answered by each plane, in place or awaited ----------------------------------------------
    def agent_snapshots(self) -> Any:
        """Every strategy's `AgentSnapshot` by name (the wire format of a desk of processes)."""
        raise NotImplementedError

    def status(self) -> Any:
        raise NotImplementedError

    def positions(self) -> Any:
        raise NotImplementedError

    def pnl(self) -> Any:
        raise NotImplementedError

    def open_orders(self) -> Any:
        raise NotImplementedError

    def latency(self) -> Any:
        raise NotImplementedError

    def risk_events(self, limit: int = 50) -> Any:
        raise NotImplementedError

    def signal_alerts(self, limit: int = 50) -> Any:
        raise NotImplementedError

    def view(self, levels: int = 3) -> Any:
        raise NotImplementedError

    def set_limits(
        self, who: Token, changes: dict[str, Any], venue: str | None = None, strategy: str | None = None
    ) -> Any:
        raise NotImplementedError

    def kill(self, who: Token, reason: str = "", strategy: str | None = None) -> Any:
        raise NotImplementedError

    def resume(self, who: Token, strategy: str | None = None) -> Any:
        raise NotImplementedError

    def stop_strategy(self, who: Token, strategy: str | None = None, cancel_orders: bool = True) -> Any:
        raise NotImplementedError

    def start_strategy(self, who: Token, strategy: str | None = None) -> Any:
        raise NotImplementedError

    def set_params(self, who: Token, params: dict[str, Any], strategy: str | None = None) -> Any:
        raise NotImplementedError

    async def deploy(
        self,
        who: Token,
        name: str,
        run: str,
        params: dict[str, Any] | None = None,
        venue: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop what the plane itself started."""


class ControlPlane(BasePlane):
    """The plane over agents in this process: reads and actions answered in place, between two
    market events on the agents' own loop."""

    def __init__(self, agents: Any, tokens: dict[str, Token] | None = None, research: Research | None = None) -> None:
        """`agents`: one agent (a Runner or a MultiRunner), or several by name (a desk of
        strategies, each its own agent with its own keys and risk). `tokens`: secret -> Token.
        `research`: the data and results folders of `data`, `backtest` (default: no data
        folder, results under ./results)."""
        super().__init__(tokens, research)
        self.agents: dict[str, Any] = dict(agents) if isinstance(agents, dict) else {agents.strategy.name: agents}
        if not self.agents:
            raise ValueError("a control plane needs at least one agent")
        self.signal_log: deque[dict[str, Any]] = deque(maxlen=200)
        self.signal_total = 0
        self._latency: dict[tuple[str, str], dict[str, Any]] = {}  # view()'s percentiles, in turn
        self._turn = 0
        self.deployed: dict[str, Runner] = {}  # strategies started by `deploy`: stopped by `close`
        self._starting: set[str] = set()  # names being deployed (a start awaits the venue)
        self._venues = self._venue_map()
        for name, agent in self.agents.items():
            self._tap(name, agent)

    def _venue_map(self) -> dict[str, tuple[Any, Any]]:
        """The venues the agents trade on, by name (a leg's name; `venue` when there is one; else
        HOST:PORT): where `deploy` can start a strategy (its port, the risk limits in force there)."""
        first: dict[str, tuple[str, Runner]] = {}
        for agent in self.agents.values():
            for v, r in sessions(agent).items():
                first.setdefault(r.port.url, (v, r))
        out: dict[str, tuple[Any, Any]] = {}
        for url, (v, r) in first.items():
            label = v if v != "venue" else "venue" if len(first) == 1 else url.split("//")[-1].split("/")[0]
            if label in out:
                label = url.split("//")[-1].split("/")[0]
            out[label] = (r.port, r.risk.config)
        return out

    def _tap(self, name: str, agent: Any) -> None:
        """Keep the agent's signal alerts (with decimal prices) for `signal_alerts` and `view`."""
        for r in sessions(agent).values():
            r.observers.append(_SignalTap(self, name))

    # --- helpers ------------------------------------------------------------------------------
    def runners(self) -> dict[tuple[str, str], Runner]:
        """Every venue session of every agent, by (strategy name, venue name)."""
        return {(a, v): r for a, agent in self.agents.items() for v, r in sessions(agent).items()}

    def _journal_audit(self, rec: AuditRecord) -> None:
        for r in self.runners().values():
            if r.journal is not None:
                r.journal.record("audit", "", rec.ts_ns, rec)

    def venue_names(self) -> list[str]:
        return sorted(self._venues)

    def default_strategy(self) -> str:
        return str(next(iter(self.agents.values())).strategy.name)

    # --- reads ----------------------------------------------------------------------------------
    def agent_snapshots(self) -> dict[str, AgentSnapshot]:
        """Every agent's typed snapshot by strategy name, read once (`runtime.snapshot`)."""
        return {name: agent_snapshot(agent) for name, agent in self.agents.items()}

    def status(self) -> dict[str, Any]:
        """Per strategy: running?, its parameters, and per venue: URL, connection, markets, risk
        state, first trip, open orders, limits in force, circuit breaker."""
        return status_of(self.agent_snapshots())

    def positions(self) -> dict[str, dict[str, str]]:
        """Per strategy: net positions by VENUE:MARKET, decimals (flat markets left out)."""
        return positions_of(self.snapshots())

    def snapshots(self) -> dict[tuple[str, str], RunnerSnapshot]:
        """Every venue session's snapshot, by (strategy, venue), read once."""
        return sessions_of(self.agent_snapshots())

    def pnl(self, snaps: dict[tuple[str, str], RunnerSnapshot] | None = None) -> dict[str, Any]:
        """Realized, unrealized, fees (negative: rebates) and after fees, in the quote currency:
        per strategy and venue, per strategy, and the desk's total."""
        return pnl_of(self.snapshots() if snaps is None else snaps)

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

    def view(self, levels: int = 3) -> dict[str, Any]:
        """Everything a dashboard draws, in one JSON snapshot (`GET /v1/view`): each market's
        top levels once, per strategy and venue its position, P&L, fills, open orders, the
        orders and cancels sent so far beside the venue's limits, risk; latency percentiles;
        recent risk events and signal alerts. Cheap enough to poll a few times a second: the
        percentiles (the one costly read) are refreshed for one venue session per call, in turn."""
        import time as _time

        runners = self.runners()
        snaps = {k: r.snapshot() for k, r in runners.items()}
        pnl = self.pnl(snaps)
        books: dict[tuple[str, str], dict[str, Any]] = {}
        rows = []
        for (a, v), r in runners.items():
            for m, book in r.books.items():
                if (r.port.url, m) not in books:
                    inst = r.instruments[m]
                    bids, asks = book.depth(levels)
                    label = v if v != "venue" else r.port.url.split("//")[-1].split("/")[0]
                    books[(r.port.url, m)] = {
                        "market": f"{label}:{m}",
                        "bids": [[inst.ticks_to_price(px), inst.lots_to_qty(q)] for px, q in bids],
                        "asks": [[inst.ticks_to_price(px), inst.lots_to_qty(q)] for px, q in asks],
                    }
            snap = snaps[(a, v)]
            rows.append(
                {
                    "strategy": a,
                    "venue": v,
                    "positions": {m: q for m, q in snap.positions.items() if m in r.instruments},
                    "pnl_after_fees": pnl["strategies"][a]["venues"][v]["after_fees"],
                    "fills": snap.fills_total,
                    "open_orders": len(snap.open_orders),
                    "sent_orders": snap.rates.sent_orders,
                    "sent_cancels": snap.rates.sent_cancels,
                    "venue_orders_per_s": snap.rates.venue_orders_per_s,
                    "venue_cancels_per_s": snap.rates.venue_cancels_per_s,
                    "circuit_breaker_per_s": snap.rates.circuit_breaker_per_s,
                    "risk_state": snap.risk_state,
                    "connected": snap.connected,
                    "risk_counts": snap.risk_counts,
                    "rejects": {"faults": snap.faults, "benign": snap.benign},
                    "risk_recent": [str(e) for e in list(r.risk.events)[-2:]],
                }
            )
        keys = list(runners)
        stale = [k for k in keys if k not in self._latency] or [keys[self._turn % len(keys)]]
        self._turn += 1
        self._latency[stale[0]] = runners[stale[0]].telemetry.snapshot()
        latency = [
            {"strategy": a, "venue": v} | {"histogram": h} | tel[h]
            for (a, v) in keys
            if (tel := self._latency.get((a, v))) is not None
            for h in ("tick_to_trade", "ack_rtt", "fill_latency")
            if tel[h].get("count")
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
        self._act(who, "set_limits")
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
        self._act(who, "kill")
        for r in self._pick(strategy).values():
            r.manual_override(f"control:{who.name}")
        self._audit(who.name, "kill", {"reason": reason, "strategy": strategy}, "halted, cancel-all sent")
        return self.status()

    def resume(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        """Back to active after a halt: only ever by this explicit call."""
        self._act(who, "resume")
        for r in self._pick(strategy).values():
            r.resume(f"control:{who.name}")
        self._audit(who.name, "resume", {"strategy": strategy}, "active")
        return self.status()

    def stop_strategy(self, who: Token, strategy: str | None = None, cancel_orders: bool = True) -> dict[str, Any]:
        """The strategy stops deciding (hooks paused); with `cancel_orders`, its orders are pulled."""
        self._act(who, "stop_strategy")
        name, agent = self._one(strategy, who, "stop_strategy")
        agent.started = False
        for r in sessions(agent).values():
            r.started = False
            if cancel_orders and r.oms.live:
                r.cancel_all()
        self._audit(who.name, "stop_strategy", {"strategy": name, "cancel_orders": cancel_orders}, "stopped")
        return self.status()

    def start_strategy(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        self._act(who, "start_strategy")
        name, agent = self._one(strategy, who, "start_strategy")
        for r in sessions(agent).values():
            r.started = True
        agent.started = True
        self._audit(who.name, "start_strategy", {"strategy": name}, "running")
        return self.status()

    def set_params(self, who: Token, params: dict[str, Any], strategy: str | None = None) -> dict[str, Any]:
        """New strategy parameters: a fresh instance from its typed Params (validated), swapped in
        between two events; the old one's orders are cancelled first (their state is its own)."""
        self._act(who, "set_params")
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

    async def deploy(
        self,
        who: Token,
        name: str,
        run: str,
        params: dict[str, Any] | None = None,
        venue: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Start a new strategy `name` running `run` (a shipped name, MODULE:CLASS or FILE.py:CLASS)
        with `params` on one of the plane's venues, under the risk limits in force there. Its own
        account: `key`, or a fresh sandbox account registered on the venue (agenthft's venue
        registers one; a venue that does not needs `key`)."""
        self._act(who, "start_strategy")
        from agenthft.strategies.loader import StrategyError, build, load_class

        args = {"strategy": name, "run": run, "params": params or {}, "venue": venue}
        try:
            if name in self.agents or name in self._starting:
                raise ControlError(f"a strategy named {name!r} exists; start_strategy without `run` restarts it")
            self._starting.add(name)
            if venue is None and len(self._venues) > 1:
                raise ControlError(f"name a venue: {sorted(self._venues)}")
            where = venue or next(iter(self._venues))
            if where not in self._venues:
                raise ControlError(f"no venue {where!r}; venues: {sorted(self._venues)}")
            strategy = build(load_class(run), dict(params or {}))
            port, risk = self._venues[where]
            if not isinstance(port, AgenthftPort):
                raise ControlError(f"start_strategy deploys on agenthft venues; {where!r} is {port.name}")
            new_key = key or await sandbox_key(port.rest_url, name)
            runner = Runner(strategy, AgenthftPort(port.ws_url, port.rest_url, new_key), risk=risk)
            await runner.start()  # on failure, it closes what it opened
        except Exception as e:  # whatever stops it starting is the answer, on one line
            why = str(e) if isinstance(e, (ControlError, StrategyError)) else f"{type(e).__name__}: {e}"
            self._audit(who.name, "deploy", args, f"refused: {why}")
            raise ControlError(f"cannot start {name!r}: {why}") from None
        finally:
            self._starting.discard(name)
        self.agents[name] = self.deployed[name] = runner
        self._tap(name, runner)
        self._audit(who.name, "deploy", args, f"running on {where}")
        return self.status()

    async def close(self) -> None:
        """Stop the strategies `deploy` started (their orders cancelled)."""
        for runner in self.deployed.values():
            await runner.stop(cancel_orders=True)
        self.deployed.clear()

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


async def sandbox_key(rest_url: str, name: str) -> str:
    """A fresh funded account on a sandbox venue (agenthft's `POST /api/v1/register`)."""
    import secrets

    from agenthft.connectors.agenthft import RestClient

    body = {"agent_id": f"deployed-{name}-{secrets.token_hex(3)}"}
    try:
        async with RestClient(rest_url, "", max_retries=0) as rest:
            return str((await rest.request("POST", "/api/v1/register", json=body))["api_key"])
    except Exception as e:
        raise ControlError(
            f"the venue at {rest_url} registers no account ({type(e).__name__}: {e}): pass `key`"
        ) from None
