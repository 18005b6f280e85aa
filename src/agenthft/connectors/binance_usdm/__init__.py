"""Binance USD-M futures connector (being built: see the registry)."""

from __future__ import annotations

from typing import Any

from agenthft.connectors.port import VenuePort


def open_binance(spec: str, **options: Any) -> VenuePort:
    from agenthft.connectors.registry import VenueSpecError

    raise VenueSpecError(f"--venue {spec!r}: the Binance USD-M connector is not in this build yet")
