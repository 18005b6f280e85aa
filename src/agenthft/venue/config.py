"""Venue configuration from TOML: markets, engine rules, limits per tier, sandbox funding and
an injected one-way delay. Validated on load (unknown fields are errors)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import msgspec

from agenthft.matching import EngineConfig
from agenthft.model import Instrument


class Tier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Per-key limits (per API key unless noted)."""

    orders_per_s: float = 100
    cancels_per_s: float = 200
    connections: int = 10
    subscriptions: int = 50  # per connection
    rest_per_min: float = 120
    rest_burst: int = 200
    abuse_per_s: int = 100  # rate-limited rejects per second on one connection before close 1008
    weight_per_min: int = 0  # Binance front: REQUEST_WEIGHT per minute (0: 20 x rest_per_min)


class Sandbox(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    funds: dict[str, str] = msgspec.field(default_factory=lambda: {"USDC": "1000000"})
    tier: str = "default"


class VenueSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str = "agenthft"
    delay_us: float = 0.0  # one-way delay added to every message in each direction
    jitter_us: float = 0.0  # plus a uniform random 0..jitter_us (order preserved)
    max_frame_bytes: int = 65536
    high_water_bytes: int = 256 * 1024  # a slower consumer's book stream is dropped past this
    sndbuf_bytes: int = 0  # SO_SNDBUF per connection (0: the OS default, autotuned)
    max_buffer_bytes: int = 16 * 1024 * 1024  # and the connection closed (1008) past this
    fills_kept: int = 10_000  # per account, for GET /fills
    orders_kept: int = 1_000  # finished orders per account, for GET /orders
    register_per_min: float = 30  # POST /api/v1/register per source address (burst the same)
    state_sync: str = "off"  # --state durability: off | normal | full (venue/state.py)


class OrderRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Order checks the venue's one order-entry path applies before the engine, for every
    front (off by default; `agenthft venue --dialect binance-usdm` turns on Binance-like
    values unless the config sets them). `min_notional`: price x quantity in the quote
    currency at least this (market orders: at the mark; reduce-only orders are exempt).
    `price_band_bps`: a buy's limit at most mark x (1 + band), a sell's at least
    mark x (1 - band) (Binance's PERCENT_PRICE; no mark yet: no check)."""

    min_notional: str = "0"
    price_band_bps: int = 0


class VenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    markets: list[Instrument]
    venue: VenueSettings = VenueSettings()
    engine: EngineConfig = EngineConfig()
    rules: OrderRules = OrderRules()
    sandbox: Sandbox = Sandbox()
    tiers: dict[str, Tier] = msgspec.field(default_factory=lambda: {"default": Tier()})

    def tier(self, name: str) -> Tier:
        return self.tiers.get(name) or self.tiers.get("default") or Tier()


def load_config(path: str | Path | None = None) -> VenueConfig:
    """Read a venue TOML file, or a packaged one by name ("default", "venue-b"); None: default."""
    name = "default" if path is None else str(path)
    packaged = resources.files("agenthft.venue").joinpath(f"{name}.toml")
    use_packaged = not Path(name).exists() and packaged.is_file()
    text = packaged.read_text() if use_packaged else Path(name).read_text()
    try:
        return msgspec.convert(tomllib.loads(text), VenueConfig)
    except (msgspec.ValidationError, tomllib.TOMLDecodeError, ValueError) as e:
        raise ValueError(f"bad venue config {path or 'default.toml'}: {e}") from None
