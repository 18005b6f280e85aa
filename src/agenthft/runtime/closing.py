"""The one end of a live agent, for every shell that runs one (`run`, `run --leg`, `desk
--in-process`, a desk's strategy process): the seat's first closer (the dashboard gives the
terminal back), then for every agent at once the strategy stops deciding, with `cancel` its
orders are cancelled and answered and one last snapshot is read (fills that raced the cancels),
its summary is taken and each venue's own record of the account is read beside it; then the
seat's other closers, the results files (which now count what the summary counts), and the
sessions closed.

Written once so that the order cannot drift between commands: a summary taken before the
cancels are answered, or files written before the last fill, disagree with the venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agenthft.risk import RiskState
from agenthft.runtime.multi import MultiRunner, sessions
from agenthft.runtime.runner import Runner

Agent = Runner | MultiRunner
Closer = Callable[[], Awaitable[None]]


@dataclass
class Ending:
    """An agent's end: its summary, each venue session's own account (by session name: a
    MultiRunner's legs, or `venue`), why a venue could not be read, whether risk halted it."""

    summary: dict[str, Any]
    venues: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    halted: bool = False

    def merged(self) -> dict[str, Any]:
        """The summary with the venue's side beside the agent's: a Runner's at the top, a
        MultiRunner's in each leg's entry of `venues`."""
        out = dict(self.summary)
        if "venues" in out and isinstance(out["venues"], dict):
            out["venues"] = {v: dict(s) | self.venues.get(v, {}) for v, s in out["venues"].items()}
        else:
            out |= self.venues.get("venue", {})
        return out


async def venue_side(port: Any) -> dict[str, Any]:
    """The venue's own account of the run (open orders, fills, positions), read at exit."""
    snap = await asyncio.wait_for(port.snapshot(), 5.0)
    names = getattr(port, "instruments_by_name", {})
    return {
        "venue_open_orders": sorted(o.order_id for o in snap.open_orders),
        "venue_fill_ids": sorted(f.fill_id for f in snap.fills),
        "venue_positions": {
            m: names[m].lots_to_qty(lots) if m in names else str(lots) for m, lots in sorted(snap.positions.items())
        },
    }


async def wind_down(agent: Agent, cancel: bool) -> Ending:
    """Stop deciding (with `cancel`: cancel-all, the answers, a last snapshot), then the
    summary and each venue's side. The sessions stay open (`close` closes them)."""
    await agent.quiesce(cancel_orders=cancel)
    summary = agent.summary()
    end = Ending(summary)
    for name, r in sessions(agent).items():
        try:
            end.venues[name] = await venue_side(r.port)
        except Exception as e:  # the summary is written even when the venue is gone
            end.errors[name] = f"{type(e).__name__}: {e}"
        end.halted |= r.risk.state is RiskState.HALTED
    return end


async def close(
    agents: dict[str, Agent],
    cancel: bool,
    closers: Sequence[Closer] = (),
    write: Callable[[], Any] | None = None,
) -> tuple[dict[str, Ending], Any]:
    """The closing sequence (module docstring) over `agents` by name; returns their endings
    and what `write` returned (the results files)."""
    if closers:
        await closers[0]()
    ends = await asyncio.gather(*(wind_down(a, cancel) for a in agents.values()))
    for closer in closers[1:]:
        await closer()
    files = write() if write is not None else None
    for a in agents.values():
        await a.stop()
    return dict(zip(agents, ends, strict=True)), files
