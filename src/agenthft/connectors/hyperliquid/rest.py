"""Hyperliquid's HTTP API (aiohttp): `POST /info` and `POST /exchange`, JSON both ways.

A 429 (the IP's request weight spent) raises `RateLimited`; a 422 (a body Hyperliquid could
not read) and any other HTTP error `HyperliquidError`. A refused action is no HTTP error: its
answer is `{"status": "err", "response": text}`, which the caller reads."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec


class HyperliquidError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status, self.text = status, text


class RateLimited(HyperliquidError):
    """429: the IP's weight per minute is spent."""


class HyperliquidRest:
    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self.weight = 0  # the IP weight this client spent (Hyperliquid's count, ours estimated)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        data = msgspec.json.encode(body)
        async with self._http.post(self.base_url + path, data=data, headers={"Content-Type": "application/json"}) as r:
            raw = await r.read()
            if r.status == 429:
                raise RateLimited(429, raw.decode(errors="replace"))
            if r.status >= 400:
                raise HyperliquidError(r.status, raw.decode(errors="replace"))
            return msgspec.json.decode(raw) if raw else None

    async def info(self, body: dict[str, Any]) -> Any:
        return await self.post("/info", body)

    async def exchange(self, body: dict[str, Any]) -> Any:
        return await self.post("/exchange", body)
