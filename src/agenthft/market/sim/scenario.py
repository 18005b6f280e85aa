"""Scenario files: a market to simulate, as TOML (docs/market.md has the format).

A scenario names underlyings (fair values: start price, volatility, jumps), the markets that
track each, and participants with their parameters in the market's units (prices and sizes as
decimals, times in ms). `build(scenario, instruments)` turns it into a Simulation.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from agenthft.market.sim.fair import FairValue
from agenthft.market.sim.participants import (
    Absorber,
    CascadeBeforeDrop,
    Iceberg,
    InformedTrader,
    MarketMaker,
    NoiseTaker,
    Participant,
    Spoofer,
)
from agenthft.market.sim.simulation import Simulation
from agenthft.matching import MatchingEngine
from agenthft.model import Instrument

Kind = Literal["market_maker", "noise", "informed", "spoofer", "iceberg", "cancel_cascade", "absorber"]
MS = 1_000_000


class Underlying(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    start: str  # price, in the first market's units
    markets: list[str]
    vol_ticks: float = 20.0  # one second's standard deviation, in ticks
    jump_rate: float = 0.0  # per second
    jump_ticks: int = 0


class ParticipantSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Kind
    market: str
    account: str
    size: str = "0.01"  # quote / order size (decimal)
    total: str = "1"  # iceberg total
    half_spread: int = 2  # ticks
    levels: int = 3
    edge: int = 3  # informed: ticks off fair before it takes
    drop_ticks: int = 40  # cancel cascade: the drop that follows
    orders: int = 5  # cancel cascade: bids pulled
    interval_ms: float = 0.0  # 0: the participant's default
    lag_ms: float = 0.0  # market makers: see the fair value this late
    hold_ms: float = 800.0  # absorber


class Scenario(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    underlyings: list[Underlying]
    participants: list[ParticipantSpec]
    seed: int = 1
    description: str = ""


def scenario_names() -> list[str]:
    """The packaged scenarios' names (`load_scenario` takes them), in a stable order."""
    folder = resources.files("agenthft.market.sim").joinpath("scenarios")
    order = ["calm", "lead-lag", "cross-venue", "manipulated", "crash", "desk"]
    found = sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))
    return [n for n in order if n in found] + [n for n in found if n not in order]


def load_scenario(name_or_path: str) -> Scenario:
    """A packaged scenario by name (`scenario_names()`: calm, lead-lag, cross-venue, manipulated,
    crash, desk) or a TOML path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        text = path.read_text()
    else:
        try:
            text = resources.files("agenthft.market.sim").joinpath(f"scenarios/{name_or_path}.toml").read_text()
        except FileNotFoundError:
            raise ValueError(f"no scenario {name_or_path!r} (a packaged name or a .toml path)") from None
    try:
        return msgspec.convert(tomllib.loads(text), Scenario)
    except (msgspec.ValidationError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"bad scenario {name_or_path}: {e}") from None


def _participant(spec: ParticipantSpec, inst: Instrument, seed: int) -> Participant:
    size = inst.qty_to_lots(spec.size)
    iv = int(spec.interval_ms * MS)
    kw = {"interval_ns": iv} if iv else {}
    if spec.kind == "market_maker":
        return MarketMaker(
            spec.account,
            spec.market,
            spec.half_spread,
            size,
            spec.levels,
            seed=seed,
            lag_ns=int(spec.lag_ms * MS),
            **kw,
        )
    if spec.kind == "noise":
        return NoiseTaker(spec.account, spec.market, size, seed=seed, **kw)
    if spec.kind == "informed":
        return InformedTrader(spec.account, spec.market, spec.edge, size, seed=seed, **kw)
    if spec.kind == "spoofer":
        return Spoofer(spec.account, spec.market, size, seed=seed, **kw)
    if spec.kind == "iceberg":
        return Iceberg(spec.account, spec.market, inst.qty_to_lots(spec.total), size, seed=seed, **kw)
    if spec.kind == "cancel_cascade":
        return CascadeBeforeDrop(spec.account, spec.market, spec.orders, size, spec.drop_ticks, seed=seed, **kw)
    return Absorber(spec.account, spec.market, size, int(spec.hold_ms * MS), seed=seed, **kw)


def build(
    scenario: Scenario,
    instruments: list[Instrument],
    engine: MatchingEngine | None = None,
    markets: set[str] | None = None,
    underlyings: dict[str, FairValue] | None = None,
    start_ns: int = 0,
) -> Simulation:
    """The Simulation of `scenario` over `instruments` (only `markets` if given, e.g. the ones
    one venue of a cross-venue scenario carries). Pass the same `underlyings` dict to the builds
    of several venues so they quote one fair value."""
    shared = underlyings if underlyings is not None else {}
    by_name = {i.market: i for i in instruments}
    fair: dict[str, FairValue] = {}
    scales: dict[str, Fraction] = {}  # a market's ticks per tick of its underlying
    for k, u in enumerate(scenario.underlyings):
        present = [m for m in u.markets if m in by_name and (markets is None or m in markets)]
        if not present:
            continue
        fv = shared.get(u.name)
        if fv is None:  # it walks in ticks of the first market it was made for, on any venue after
            first = by_name[present[0]]
            tick = Fraction(Decimal(first.tick_size))
            fv = FairValue(
                first.price_to_ticks(u.start), u.vol_ticks, u.jump_rate, u.jump_ticks, scenario.seed + k, tick
            )
            shared[u.name] = fv
        for m in present:
            fair[m] = fv
            scales[m] = fv.tick / Fraction(Decimal(by_name[m].tick_size))
    parts = [
        _participant(p, by_name[p.market], scenario.seed * 1000 + i)
        for i, p in enumerate(scenario.participants)
        if p.market in fair
    ]
    return Simulation([by_name[m] for m in fair], fair, parts, engine, start_ns, scales)
