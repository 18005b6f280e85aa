"""The control plane over a desk of strategy processes: the same reads and actions, over the same
HTTP and MCP doors, as the plane over agents in one process, answered by asking the strategies.

- Status, positions and P&L are built from each strategy's typed `AgentSnapshot`, read from its
  process (`GET /v1/snapshots`) and put through the same tables as in one process
  (control/reads.py). A dead strategy keeps its last snapshot, shown dead: not running, every
  venue disconnected, risk state `dead`, its process's exit and the sweep of its orders.
- Open orders, latency, risk events, signal alerts and the dashboard's view are details each
  strategy's own plane answers; they are merged by strategy name (a dead one has none left).
- Actions go to the strategy named (kill, resume and set_limits: every running one when none
  is named) and are audited here, with who asked; each strategy's journal records them as done
  by `desk`. A new strategy (`start_strategy` with `run`) is a new process.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from agenthft.control.desk.procs import Desk, StartFailed, StrategyProcess
from agenthft.control.plane import BasePlane, ControlError, Token, sandbox_key
from agenthft.control.reads import pnl_of, positions_of, sessions_of, status_of
from agenthft.control.research import Research
from agenthft.risk import RiskConfig
from agenthft.runtime.desk import DeskStrategy
from agenthft.runtime.snapshot import AgentSnapshot, RunnerSnapshot


class DeskPlane(BasePlane):
    def __init__(self, desk: Desk, tokens: dict[str, Token] | None = None, research: Research | None = None) -> None:
        super().__init__(tokens, research)
        self.desk = desk
        desk.on_death.append(self._died)

    def _died(self, p: StrategyProcess) -> None:
        self._audit("desk", "died", {"strategy": p.name}, f"process {p.process().get('exit', 'gone')}")

    def venue_names(self) -> list[str]:
        return sorted(self.desk.venues)

    def default_strategy(self) -> str:
        return next(iter(self.desk.procs.values())).spec.strategy

    # --- reads from the typed snapshots ---------------------------------------------------------
    async def agent_snapshots(self) -> dict[str, AgentSnapshot]:
        """Every strategy's snapshot, read now from the running ones; a dead one's last, shown dead."""
        running = self.desk.running().values()
        await asyncio.gather(*(p.refresh() for p in running))
        out: dict[str, AgentSnapshot] = {}
        for name, p in self.desk.procs.items():
            if p.last is not None:
                out[name] = p.last if p.state == "running" else _shown_dead(p, p.last)
        return out

    async def status(self) -> dict[str, Any]:
        out = status_of(await self.agent_snapshots())
        for name, p in self.desk.procs.items():  # each strategy with its process, in desk order
            entry = out["strategies"].pop(name, None) or {
                "strategy": p.spec.strategy,
                "running": False,
                "params": dict(p.spec.params),
                "venues": {},
            }
            out["strategies"][name] = entry | {"process": p.process()}
        return out

    async def positions(self) -> dict[str, dict[str, str]]:
        return positions_of(sessions_of(await self.agent_snapshots()))

    async def pnl(self) -> dict[str, Any]:
        return pnl_of(sessions_of(await self.agent_snapshots()))

    # --- details each strategy's plane answers ----------------------------------------------------
    async def _ask(self, path: str, **query: Any) -> dict[str, Any]:
        """`GET path` of every running strategy, by name; one that does not answer is left out."""
        procs = list(self.desk.running().values())
        answers = await asyncio.gather(
            *(p.link.get(path, **query) for p in procs if p.link is not None), return_exceptions=True
        )
        return {p.name: a for p, a in zip(procs, answers, strict=True) if not isinstance(a, BaseException)}

    async def open_orders(self) -> list[dict[str, Any]]:
        return [o for orders in (await self._ask("/v1/orders")).values() for o in orders]

    async def latency(self) -> dict[str, dict[str, Any]]:
        return _merged(await self._ask("/v1/latency"))

    async def risk_events(self, limit: int = 50) -> dict[str, dict[str, Any]]:
        out = _merged(await self._ask("/v1/risk/events"))
        for venues in out.values():
            for v in venues.values():
                v["recent"] = v["recent"][-limit:] if limit > 0 else []
        return out

    async def signal_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        alerts = [a for got in (await self._ask("/v1/signals")).values() for a in got]
        alerts.sort(key=lambda a: a.get("ts_ns", 0))
        return alerts[-limit:]

    async def view(self, levels: int = 3) -> dict[str, Any]:
        """The dashboard's view: each strategy's own, merged (books once per market), and a row
        per venue of a dead strategy from its last snapshot."""
        views = await self._ask("/v1/view", levels=levels)
        books: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        latency: list[dict[str, Any]] = []
        signals: dict[str, Any] = {"count": 0, "recent": []}
        for v in views.values():
            for b in v["books"]:
                books.setdefault(b["market"], b)
            rows += v["rows"]
            latency += v["latency"]
            signals["count"] += v["signals"]["count"]
            signals["recent"] += v["signals"]["recent"]
        for name, p in self.desk.procs.items():
            if p.state != "running" and p.last is not None:
                rows += [_dead_row(name, venue, snap) for venue, snap in _shown_dead(p, p.last).venues.items()]
        signals["recent"] = sorted(signals["recent"], key=lambda a: a.get("ts_ns", 0))[-6:]
        return {
            "t": time.monotonic(),
            "pnl_after_fees": round(sum(r["pnl_after_fees"] for r in rows), 8),
            "books": list(books.values()),
            "rows": rows,
            "latency": latency,
            "signals": signals,
        }

    # --- actions, forwarded ---------------------------------------------------------------------------
    def _one(self, strategy: str | None, who: Token, action: str) -> StrategyProcess:
        """The running strategy an action names; with one strategy the name may be left out."""
        procs = self.desk.procs
        name = next(iter(procs)) if strategy is None and len(procs) == 1 else strategy
        if name not in procs:
            why = "name one" if name is None else f"no strategy {name!r}"
            self._audit(who.name, action, {"strategy": strategy}, f"refused: {why}")
            raise ControlError(f"{why}; strategies: {sorted(procs)}")
        p = procs[name]
        if p.state != "running" or p.link is None:
            self._audit(who.name, action, {"strategy": name}, f"refused: {p.state}")
            raise ControlError(f"strategy {name!r} is {p.state} ({p.process().get('exit', 'no process')})")
        return p

    def _targets(self, strategy: str | None, who: Token, action: str) -> list[StrategyProcess]:
        if strategy is not None:
            return [self._one(strategy, who, action)]
        running = list(self.desk.running().values())
        if not running:
            self._audit(who.name, action, {}, "refused: no strategy is running")
            raise ControlError(f"no strategy is running; strategies: {sorted(self.desk.procs)}")
        return running

    async def _forward(self, targets: list[StrategyProcess], path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to each target; their answers by name. A refusal from every one is the answer."""
        got = await asyncio.gather(*(p.link.post(path, body) for p in targets if p.link), return_exceptions=True)
        answers = {p.name: a for p, a in zip(targets, got, strict=True) if not isinstance(a, BaseException)}
        errors = [a for a in got if isinstance(a, BaseException)]
        if errors and not answers:
            raise errors[0]
        return answers

    async def set_limits(
        self, who: Token, changes: dict[str, Any], venue: str | None = None, strategy: str | None = None
    ) -> dict[str, Any]:
        self._act(who, "set_limits")
        args = {"limits": changes, "strategy": strategy, "venue": venue}
        targets = self._targets(strategy, who, "set_limits")
        try:
            msgspec.convert(msgspec.structs.asdict(RiskConfig()) | changes, RiskConfig, strict=False)
            answers = await self._forward(targets, "/v1/risk/limits", {"limits": changes, "venue": venue})
        except (msgspec.ValidationError, ValueError, TypeError) as e:
            self._audit(who.name, "set_limits", args, f"refused: {e}")
            raise ControlError(str(e) if isinstance(e, ControlError) else f"limits refused: {e}") from None
        out: dict[str, Any] = {}
        for a in answers.values():
            out |= a
        self._audit(who.name, "set_limits", args, f"in force on {sorted(f'{s}/{v}' for s in out for v in out[s])}")
        return out

    async def kill(self, who: Token, reason: str = "", strategy: str | None = None) -> dict[str, Any]:
        self._act(who, "kill")
        targets = self._targets(strategy, who, "kill")
        done = await self._forward(targets, "/v1/kill", {"reason": reason})
        self._audit(
            who.name, "kill", {"reason": reason, "strategy": strategy}, f"halted, cancel-all sent: {sorted(done)}"
        )
        return await self.status()

    async def resume(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        self._act(who, "resume")
        done = await self._forward(self._targets(strategy, who, "resume"), "/v1/resume", {})
        self._audit(who.name, "resume", {"strategy": strategy}, f"active: {sorted(done)}")
        return await self.status()

    async def stop_strategy(
        self, who: Token, strategy: str | None = None, cancel_orders: bool = True
    ) -> dict[str, Any]:
        self._act(who, "stop_strategy")
        p = self._one(strategy, who, "stop_strategy")
        await self._forward([p], "/v1/strategy/stop", {"cancel_orders": cancel_orders})
        self._audit(who.name, "stop_strategy", {"strategy": p.name, "cancel_orders": cancel_orders}, "stopped")
        return await self.status()

    async def start_strategy(self, who: Token, strategy: str | None = None) -> dict[str, Any]:
        self._act(who, "start_strategy")
        p = self._one(strategy, who, "start_strategy")
        await self._forward([p], "/v1/strategy/start", {})
        self._audit(who.name, "start_strategy", {"strategy": p.name}, "running")
        return await self.status()

    async def set_params(self, who: Token, params: dict[str, Any], strategy: str | None = None) -> dict[str, Any]:
        self._act(who, "set_params")
        p = self._one(strategy, who, "set_params")
        args = {"strategy": p.name, "params": params}
        try:
            answer: dict[str, Any] = (await self._forward([p], "/v1/strategy/params", {"params": params}))[p.name]
        except ControlError as e:
            self._audit(who.name, "set_params", args, f"refused: {e}")
            raise
        self._audit(who.name, "set_params", args, "in force")
        return answer

    async def deploy(
        self,
        who: Token,
        name: str,
        run: str,
        params: dict[str, Any] | None = None,
        venue: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """A new strategy in a new process on one of the desk's venues, on its own account (`key`,
        or a fresh sandbox account), under the risk limits in force there."""
        self._act(who, "start_strategy")
        from agenthft.strategies.loader import StrategyError, build, load_class

        args = {"strategy": name, "run": run, "params": params or {}, "venue": venue}
        try:
            if name in self.desk.procs:
                raise ControlError(f"a strategy named {name!r} exists; start_strategy without `run` restarts it")
            if venue is None and len(self.desk.venues) > 1:
                raise ControlError(f"name a venue: {sorted(self.desk.venues)}")
            where = venue or next(iter(self.desk.venues))
            if where not in self.desk.venues:
                raise ControlError(f"no venue {where!r}; venues: {sorted(self.desk.venues)}")
            build(load_class(run), dict(params or {}))  # its parameters checked before a process starts
            new_key = key or await sandbox_key(self.desk.venues[where].rest, name)
            spec = DeskStrategy(name, run, {where: new_key}, dict(params or {}), risk=self._limits_at(where))
            await self.desk.add(spec)
        except Exception as e:  # whatever stops it starting is the answer, on one line
            why = str(e) if isinstance(e, (ControlError, StrategyError, StartFailed)) else f"{type(e).__name__}: {e}"
            self._audit(who.name, "deploy", args, f"refused: {why}")
            raise ControlError(f"cannot start {name!r}: {why}") from None
        self._audit(who.name, "deploy", args, f"running on {where} (pid {self.desk.procs[name].pid})")
        return await self.status()

    def _limits_at(self, venue: str) -> RiskConfig | None:
        """The risk limits in force on `venue` (a strategy trading there), or the safe defaults."""
        for p in self.desk.procs.values():
            if venue in p.spec.keys and p.last is not None:
                snap = p.last.venues.get(venue) or p.last.venues.get("venue")
                if snap is not None and snap.limits is not None:
                    return snap.limits
        return None


def _merged(answers: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by strategy name, from each strategy's plane, as one."""
    out: dict[str, Any] = {}
    for got in answers.values():
        out |= got
    return out


def _shown_dead(p: StrategyProcess, last: AgentSnapshot) -> AgentSnapshot:
    """A dead strategy's last snapshot as it now stands: not running, not connected, risk state
    `dead`, and no open order on a venue the sweep emptied."""
    swept = (p.death or {}).get("orders")
    venues = {}
    for v, snap in last.venues.items():
        where = v if v in p.spec.keys else next(iter(p.spec.keys))
        emptied = isinstance(swept, dict) and swept.get(where, {}).get("left_open") == 0
        venues[v] = msgspec.structs.replace(
            snap, connected=False, running=False, risk_state="dead", open_orders=() if emptied else snap.open_orders
        )
    return msgspec.structs.replace(last, running=False, venues=venues)


def _dead_row(strategy: str, venue: str, snap: RunnerSnapshot) -> dict[str, Any]:
    """A dashboard row for a venue of a dead strategy (the fields a live row has)."""
    return {
        "strategy": strategy,
        "venue": venue,
        "positions": dict(snap.positions),
        "pnl_after_fees": pnl_of({(strategy, venue): snap})["total"]["after_fees"],
        "fills": snap.fills_total,
        "open_orders": len(snap.open_orders),
        "sent_orders": snap.rates.sent_orders,
        "sent_cancels": snap.rates.sent_cancels,
        "venue_orders_per_s": snap.rates.venue_orders_per_s,
        "venue_cancels_per_s": snap.rates.venue_cancels_per_s,
        "circuit_breaker_per_s": snap.rates.circuit_breaker_per_s,
        "risk_state": "dead",
        "connected": False,
        "risk_counts": snap.risk_counts,
        "rejects": {"faults": snap.faults, "benign": snap.benign},
        "risk_recent": [],
    }
