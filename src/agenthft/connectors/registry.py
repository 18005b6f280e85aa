"""Venues by name: `--venue SPEC` -> a `VenuePort`.

| spec | venue |
|---|---|
| `ws://HOST:PORT/trading`, `agenthft:ws://...` | agenthft's protocol (with `--rest URL`, `--key KEY`) |
| `binance-usdm` | Binance USD-M futures, mainnet (needs `--live` and a risk file) |
| `binance-usdm-testnet` | Binance's USD-M testnet (the default way to meet Binance) |
| `binance-usdm@http://127.0.0.1:N` | a Binance-dialect venue at that URL (`venue --dialect binance-usdm`) |
| `hyperliquid` | Hyperliquid, mainnet (needs `--live` and a risk file) |
| `hyperliquid-testnet` | Hyperliquid's testnet |
| `hyperliquid@http://127.0.0.1:N` | a Hyperliquid-dialect venue at that URL (`venue --dialect hyperliquid`) |
| `ccxt:EXCHANGE[-testnet|@URL]` | any exchange ccxt supports (the broad, slower tier; `agenthft[ccxt]`) |
| `paper:SPEC` | the venue SPEC's live public data, orders filled locally by the L2 model (no keys) |

Credentials never come from the command line of a real venue (`ps` shows argv): they come from
the environment or a file only its owner can read (`credentials.py`).
"""

from __future__ import annotations

import re
from typing import Any

from agenthft.connectors.port import VenuePort

AGENTHFT_PREFIX = "agenthft:"
PAPER_PREFIX = "paper:"


class VenueSpecError(ValueError):
    """A `--venue` that names no venue this version knows, or lacks what it needs."""


def kind_of(spec: str) -> str:
    """The connector a spec names: "agenthft", "binance-usdm", "paper", ..."""
    if spec.startswith(PAPER_PREFIX):
        kind_of(spec.removeprefix(PAPER_PREFIX))  # the feed must be a venue we know
        return "paper"
    if spec.startswith("ccxt:") and len(spec) > 5:
        return "ccxt"
    s = spec.removeprefix(AGENTHFT_PREFIX)
    if s.startswith(("ws://", "wss://", "http://", "https://")):
        return "agenthft"  # (an http URL fails to connect, saying the endpoint is ws://HOST:PORT/trading)
    name = s.split("@", 1)[0]
    if name in ("binance-usdm", "binance-usdm-testnet"):
        return "binance-usdm"
    if name in ("hyperliquid", "hyperliquid-testnet"):
        return "hyperliquid"
    raise VenueSpecError(
        f"--venue {spec!r}: one of ws://HOST:PORT/trading (agenthft), binance-usdm, binance-usdm-testnet, "
        "binance-usdm@http://HOST:PORT, hyperliquid, hyperliquid-testnet, hyperliquid@http://HOST:PORT, "
        "ccxt:EXCHANGE[-testnet|@URL], paper:SPEC"
    )


_WITH_MARKETS = re.compile(
    r"^(?P<spec>(paper:)?(ccxt:)?[A-Za-z0-9_.-]+(@[a-z]+://[^/:,]+(:\d+)?(/[^:,]*)?)?)(:(?P<markets>.+))?$"
)


def split_markets(text: str) -> tuple[str, list[str]]:
    """`binance-usdm:BTCUSDT,ETHUSDT` -> ("binance-usdm", ["BTCUSDT", "ETHUSDT"]); also
    `NAME@http://HOST:PORT:MARKETS` and `ccxt:kraken:BTC/USD`. A URL spec of agenthft's own
    protocol carries no markets (they go in `--markets`)."""
    if text.removeprefix(AGENTHFT_PREFIX).startswith(("ws://", "wss://", "http://", "https://")):
        return text, []
    m = _WITH_MARKETS.match(text)
    if m is None:
        return text, []
    markets = [x.strip() for x in (m.group("markets") or "").split(",") if x.strip()]
    return m.group("spec"), markets


def open_port(
    spec: str,
    rest: str | None = None,
    key: str | None = None,
    **options: Any,
) -> VenuePort:
    """The port `spec` names. agenthft venues take `rest` and `key`; the others read their
    credentials themselves (environment or key file) and take connector `options`."""
    kind = kind_of(spec)
    if kind == "paper":
        from agenthft.connectors.paper import PaperPort
        from agenthft.connectors.simulated.latency import parse

        feed_spec = spec.removeprefix(PAPER_PREFIX)
        public = {"public_only": True} if kind_of(feed_spec) in ("binance-usdm", "hyperliquid") else {}
        feed = open_port(feed_spec, rest, key, **public)
        return PaperPort(
            feed, parse(str(options.get("latency") or "colocated")), str(options.get("queue") or "proportional")
        )
    if kind == "agenthft":
        if not rest or not key:
            missing = [n for n, v in (("--rest", rest), ("--key", key)) if not v]
            raise VenueSpecError(f"an agenthft venue needs {' and '.join(missing)} as well as --venue")
        from agenthft.connectors.agenthft import AgenthftPort

        return AgenthftPort(spec.removeprefix(AGENTHFT_PREFIX), rest, key)
    if kind == "ccxt":
        from agenthft.connectors.ccxt_port import open_ccxt

        return open_ccxt(spec, **{k: v for k, v in options.items() if k in ("key_file", "ccxt_options")})
    if kind == "hyperliquid":
        from agenthft.connectors.hyperliquid import open_hyperliquid

        return open_hyperliquid(spec, **options)
    from agenthft.connectors.binance_usdm import open_binance

    return open_binance(spec, **options)
