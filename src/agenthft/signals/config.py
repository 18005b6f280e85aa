"""Detector thresholds: one validated, frozen config (TOML), documented defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import msgspec

Ms = Annotated[float, msgspec.Meta(ge=0)]


class SignalConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every threshold of the detectors (docs/signals.md renders this table)."""

    warmup_adds: int = 50  # level increases seen before "large" means anything
    typical_alpha: float = 0.02  # EWMA weight of each new increase in the market's typical add size
    large_multiple: float = 8.0  # an add this many times the typical add is a large order
    spoof_max_ms: Ms = 60.0  # a large order pulled within this, barely traded: a spoof (flash order)
    spoof_max_traded: float = 0.2  # ... having traded at most this fraction of its size
    absorb_min_ms: Ms = 150.0  # a large order that stays this long while traded against: absorption
    iceberg_ratio: float = 3.0  # traded at a level > this x its largest display: hidden liquidity
    iceberg_min_refills: int = 2  # refills (the level back up in the same step as a hit) that alone say iceberg
    cascade_window_ms: Ms = 250.0  # cancels at the touch counted over this window
    cascade_min_cancels: int = 3  # this many pulls of one near-touch price, no adds there: a cascade
    cascade_depth_ticks: int = 5  # "near the touch": within this many ticks of the best price
    vol_window_ms: Ms = 1000.0  # short-horizon volatility: mid changes over this window
    flow_window_ms: Ms = 1000.0  # trade-flow imbalance over this window


def load_config(path: str | Path | None) -> SignalConfig:
    if path is None:
        return SignalConfig()
    try:
        return msgspec.convert(tomllib.loads(Path(path).read_text()), SignalConfig)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"signal config {path}: {e}") from None


DOCS: dict[str, str] = {
    "warmup_adds": "level increases seen before a size counts as large",
    "typical_alpha": "EWMA weight of each increase in the learned typical add size",
    "large_multiple": "an add of this many typical adds is a large order",
    "spoof_max_ms": "a large order pulled within this (ms) is a spoof",
    "spoof_max_traded": "... if it traded at most this fraction of its size",
    "absorb_min_ms": "a large order resting this long (ms) while traded against is absorption",
    "iceberg_ratio": "traded volume at a level over this multiple of its largest display (with one refill)",
    "iceberg_min_refills": "refills right after a hit that alone mark hidden liquidity",
    "cascade_window_ms": "window (ms) over which pulls at the touch are counted",
    "cascade_min_cancels": "pulls of one near-touch price with no adds there, within the window",
    "cascade_depth_ticks": "how far from the best price (ticks) a pulled level still counts",
    "vol_window_ms": "window (ms) of the short-horizon volatility",
    "flow_window_ms": "window (ms) of the trade-flow imbalance",
}


def table_markdown() -> str:
    rows = ["| threshold | default | meaning |", "|---|---|---|"]
    for name, value in msgspec.structs.asdict(SignalConfig()).items():
        rows.append(f"| `{name}` | {value!r} | {DOCS[name]} |")
    return "\n".join(rows)
