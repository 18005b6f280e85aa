"""The agent's REST client (aiohttp): timeouts on every call, `Retry-After` backoff on 429."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp


class RestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class RestClient:
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 5.0, max_retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_retries = max_retries
        self._http: aiohttp.ClientSession | None = None
        self.retries = 0

    async def __aenter__(self) -> RestClient:
        self._http = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        for attempt in range(self.max_retries + 1):
            async with self._http.request(method, self.base_url + path, **kw) as r:
                body = await r.json(content_type=None)
                if r.status == 429 and attempt < self.max_retries:
                    self.retries += 1
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                if r.status >= 400:
                    raise RestError(r.status, body.get("error", "?"), body.get("message", ""))
                return body
        raise AssertionError("unreachable")

    async def markets(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/api/v1/markets")
        return out

    async def open_orders(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/api/v1/orders", params={"status": "open"})
        return out

    async def fills(self, since_ns: int = 0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/api/v1/fills", params={"since_ns": str(since_ns)})
        return out

    async def state(self) -> dict[str, Any]:
        """Open orders and fills read by the venue at one instant (for reconciliation). A venue
        without agenthft's `/api/v1/state` (the shared protocol only) is read with two requests,
        which are not one instant: `consistent` says which it was."""
        try:
            out: dict[str, Any] = await self.request("GET", "/api/v1/state")
            return out | {"consistent": True}
        except RestError as e:
            if e.status != 404:
                raise
        orders, fills = await asyncio.gather(self.open_orders(), self.fills())
        return {"open_orders": orders, "fills": fills, "consistent": False}

    async def limits(self) -> dict[str, Any]:
        """This key's rate limits (orders_per_s, cancels_per_s, ...); {} from a venue that does
        not publish them (the caller keeps its own defaults)."""
        try:
            out: dict[str, Any] = await self.request("GET", "/api/v1/limits")
        except RestError as e:
            if e.status != 404:
                raise
            return {}
        return out

    async def balance(self) -> dict[str, Any]:
        out: dict[str, Any] = await self.request("GET", "/api/v1/balance")
        return out

    async def positions(self) -> dict[str, Any]:
        out: dict[str, Any] = await self.request("GET", "/api/v1/positions")
        return out
