"""A desk: several strategies run together under one control plane, each its own agent (its own
API key, so its own account, OMS, positions and risk on every venue it trades), from one TOML
file (`agenthft desk FILE.toml`; the demo builds the same spec in code).

```toml
[venues.agenthft]                       # a name the strategies' markets use (VENUE:MARKET)
ws = "ws://127.0.0.1:8765/trading"
rest = "http://127.0.0.1:8766"

[[strategies]]
name = "mm"                             # the name the control plane and the dashboard use
strategy = "market-maker"               # a shipped NAME, MODULE:CLASS or FILE.py:CLASS
keys = { agenthft = "ahk_..." }         # one key per venue it trades on; several: a MultiRunner
params = { market = "BTC-PERP" }        # its typed Params (validated)
max_net = { BTC = "0.05" }              # several venues: the cap on |net position| per base
cpu = 1                                 # its process pinned to this CPU (a desk of processes)
nice = 5                                # added to its process's niceness: it yields the CPU to the others
```

`agenthft desk` runs each strategy in its own process (control/desk/); `--in-process` runs them
all on one event loop (`build_desk`, `start_desk`), as the demo does.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec

from agenthft.risk import RiskConfig
from agenthft.risk.engine import all_money_off, safe_defaults


class DeskVenue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ws: str
    rest: str


class DeskStrategy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    strategy: str
    keys: dict[str, str]
    params: dict[str, Any] = {}
    max_net: dict[str, str] = {}
    risk: RiskConfig | None = None  # None: the safe default money limits (risk.engine.SAFE_LIMITS)
    no_limits: bool = False  # every money limit off, said explicitly
    cpu: int | None = None  # its process pinned to this CPU (ignored in one process)
    #: added to its process's niceness (ignored in one process): 1..19 makes a background
    #: strategy yield the CPU to the latency-sensitive ones on a small machine; below 0 needs
    #: CAP_SYS_NICE
    nice: int = 0

    def risk_config(self) -> RiskConfig:
        return self.risk or (RiskConfig() if self.no_limits else safe_defaults())


class DeskSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    venues: dict[str, DeskVenue]
    strategies: list[DeskStrategy]


def load_desk(path: str | Path) -> DeskSpec:
    """The desk file, checked: every key names a known venue, names are unique, a strategy on one
    venue has one key. Errors say which strategy and field."""
    try:
        spec = msgspec.convert(tomllib.loads(Path(path).read_text()), DeskSpec)
    except FileNotFoundError:
        raise ValueError(f"no desk file {path!r}") from None
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"bad desk file {path}: {e}") from None
    check(spec)
    return spec


def check(spec: DeskSpec) -> None:
    names = [s.name for s in spec.strategies]
    if not names:
        raise ValueError("a desk needs at least one [[strategies]] entry")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"strategy names must be unique: {dup}")
    for s in spec.strategies:
        if not s.keys:
            raise ValueError(f'strategy {s.name!r}: keys = {{VENUE = "ahk_..."}} (one per venue it trades)')
        unknown = sorted(set(s.keys) - set(spec.venues))
        if unknown:
            raise ValueError(f"strategy {s.name!r}: unknown venue(s) {unknown}; venues: {sorted(spec.venues)}")
        if not -20 <= s.nice <= 19:
            raise ValueError(f"strategy {s.name!r}: nice = {s.nice}: a niceness is -20..19 (higher yields the CPU)")
        if s.risk is not None and all_money_off(s.risk) and not s.no_limits:
            raise ValueError(
                f"strategy {s.name!r}: its [risk] turns every money control off; add no_limits = true to mean it"
            )


def journal_path(folder: str | Path | None, strategy: str, venue: str | None = None) -> str | None:
    """A strategy's journal in the desk's journal folder: NAME.sqlite, or NAME-VENUE.sqlite for
    each venue of a strategy on several (None: no journal)."""
    if folder is None:
        return None
    return str(Path(folder) / (f"{strategy}-{venue}.sqlite" if venue else f"{strategy}.sqlite"))


def build_desk(spec: DeskSpec, journal_dir: str | Path | None = None, **runner_opts: Any) -> dict[str, Any]:
    """The desk's agents by name, not yet started: a Runner for a strategy on one venue, a
    MultiRunner (markets VENUE:MARKET) for one on several; each with its journal in
    `journal_dir` when given."""
    from agenthft.connectors.agenthft import AgenthftPort
    from agenthft.runtime.multi import MultiRunner, VenueLeg
    from agenthft.runtime.runner import Runner
    from agenthft.strategies.loader import build, load_class

    agents: dict[str, Any] = {}
    for s in spec.strategies:
        strategy = build(load_class(s.strategy), dict(s.params))
        if len(s.keys) == 1:
            ((venue, key),) = s.keys.items()
            v = spec.venues[venue]
            port = AgenthftPort(v.ws, v.rest, key)
            journal = journal_path(journal_dir, s.name)
            agents[s.name] = Runner(strategy, port, journal_path=journal, risk=s.risk_config(), **runner_opts)
        else:
            risk = s.risk_config()
            legs = [
                VenueLeg(
                    n,
                    AgenthftPort(spec.venues[n].ws, spec.venues[n].rest, k),
                    risk,
                    journal_path(journal_dir, s.name, n),
                )
                for n, k in s.keys.items()
            ]
            agents[s.name] = MultiRunner(strategy, legs, max_net=dict(s.max_net), **runner_opts)
    return agents


async def start_desk(agents: dict[str, Any]) -> None:
    """Start every agent; if one fails, the started ones are stopped before the error goes up."""
    started = []
    try:
        for agent in agents.values():
            await agent.start()
            started.append(agent)
    except BaseException:
        for agent in started:
            await agent.stop(cancel_orders=True)
        raise
