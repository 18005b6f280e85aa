"""A dead strategy's orders cancelled at the venue by the desk, which holds every strategy's venues
and keys: on each venue the strategy traded, the account's open orders as the venue lists them,
a cancel-all through a fresh session with the strategy's key, then the venue's list again until
it is empty.

The agenthft venue also cancels a key's orders when its connection closes (cancel-on-disconnect,
on by default for a key), as Binance's countdownCancelAll lapses; the sweep does not count on
it: a key made without it, a venue that has none (ccxt's), or a socket the venue has not yet
seen close would leave the orders resting with nobody watching them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from agenthft.book import Level
from agenthft.connectors.agenthft import AgenthftPort
from agenthft.connectors.port import OrderEvent
from agenthft.model import Side
from agenthft.runtime.desk import DeskVenue


class _Deaf:
    """The sweep's session hears nothing: it reads no book and trades nothing but the cancel."""

    def on_connected(self, reconnects: int) -> None: ...

    def on_disconnected(self, reason: str) -> None: ...

    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None: ...

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None: ...

    def on_order_event(self, ev: OrderEvent, recv_ns: int) -> None: ...

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None: ...


async def sweep(venues: dict[str, DeskVenue], keys: dict[str, str], timeout_s: float = 5.0) -> dict[str, Any]:
    """Per venue: the open orders found (`found_open`), those still open after the cancel-all
    (`left_open`, 0 when it worked), the account's fill ids as the venue lists them; or `error`."""
    out: dict[str, Any] = {}
    for name, key in keys.items():
        v = venues[name]
        port = AgenthftPort(v.ws, v.rest, key)
        try:
            await asyncio.wait_for(port.instruments(), timeout_s)
            found = (await asyncio.wait_for(port.snapshot(), timeout_s)).open_orders
            left: Sequence[Any] = found
            if found:
                await asyncio.wait_for(port.connect(_Deaf(), ()), timeout_s)
                port.cancel_all()
                deadline = time.monotonic() + timeout_s
                while left and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    left = (await asyncio.wait_for(port.snapshot(), timeout_s)).open_orders
            fills = (await asyncio.wait_for(port.snapshot(), timeout_s)).fills
            out[name] = {
                "found_open": len(found),
                "left_open": len(left),
                "venue_fill_ids": sorted(f.fill_id for f in fills),
            }
        except Exception as e:  # the report says which venue could not be swept, and why
            out[name] = {"error": f"{type(e).__name__}: {e}"}
        finally:
            await port.close()
    return out
