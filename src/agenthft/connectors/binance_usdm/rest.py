"""Binance USD-M's REST API (aiohttp): signed requests, the server clock, the weight it reports.

- Signed calls carry `timestamp` (the venue's clock: local time + the offset measured from
  `GET /fapi/v1/time`) and `recvWindow`; a -1021 (timestamp outside the window) resynchronises
  the clock and retries once: never a loop of rejects.
- Every answer's `X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-*` headers are kept (`usage`): the
  port compares them with the limits of `exchangeInfo` and backs off above 80 %.
- 429 raises `RateLimited(retry_after)`; 418 (an IP ban) raises `Banned(retry_after)`: the
  caller backs off, or halts and says why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import msgspec

from agenthft.connectors.binance_usdm.signing import Signer

RECV_WINDOW_MS = 5000


class BinanceError(Exception):
    """Binance answered `{"code": -N, "msg": ...}` (or an HTTP error without a body)."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"HTTP {status}, Binance {code}: {msg}")
        self.status, self.code, self.msg = status, code, msg


class RateLimited(BinanceError):
    """429: over a request-weight or order-count limit; `retry_after` seconds to wait."""

    def __init__(self, status: int, code: int, msg: str, retry_after: float) -> None:
        super().__init__(status, code, msg)
        self.retry_after = retry_after


class Banned(RateLimited):
    """418: the IP is banned for `retry_after` seconds (429s were ignored)."""


class BinanceRest:
    def __init__(
        self, base_url: str, api_key: str, signer: Signer | None, timeout_s: float = 5.0, dry_run: bool = False
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.signer = signer
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self.offset_ms = 0  # venue clock - local clock
        self.usage: dict[str, int] = {}  # header name (lower case) -> count, from the latest answer
        self.resyncs = 0
        self.dry_run = dry_run

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def sync_time(self) -> int:
        """Measure the venue clock's offset from ours (midpoint of the round trip)."""
        t0 = time.time_ns()
        body = await self.request("GET", "/fapi/v1/time")
        t1 = time.time_ns()
        self.offset_ms = int(body["serverTime"]) - (t0 + t1) // 2_000_000
        return self.offset_ms

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None, signed: bool = False) -> Any:
        try:
            return await self._request(method, path, params, signed)
        except BinanceError as e:
            if e.code != -1021 or not signed:
                raise
            self.resyncs += 1  # the clocks drifted apart: measure again, retry once
            await self.sync_time()
            return await self._request(method, path, params, signed)

    async def _request(self, method: str, path: str, params: dict[str, Any] | None, signed: bool) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        items = [(k, _text(v)) for k, v in (params or {}).items() if v is not None]
        if signed:
            if self.signer is None:
                raise BinanceError(401, -2015, "no API credentials for a signed request")
            items += [("recvWindow", str(RECV_WINDOW_MS)), ("timestamp", str(self.now_ms()))]
            query = urlencode(items)
            query += "&signature=" + quote(self.signer.sign(query), safe="")
        else:
            query = urlencode(items)
        url = self.base_url + path + ("?" + query if query else "")
        headers = {"X-MBX-APIKEY": self._api_key} if self._api_key else {}
        async with self._http.request(method, url, headers=headers) as r:
            for k, v in r.headers.items():
                lk = k.lower()
                if lk.startswith(("x-mbx-used-weight-", "x-mbx-order-count-")) and v.isdigit():
                    self.usage[lk] = int(v)
            raw = await r.read()
            if r.status in (418, 429):
                after = float(r.headers.get("Retry-After", "1") or 1)
                code, msg = _error(raw)
                raise (Banned if r.status == 418 else RateLimited)(r.status, code, msg, after)
            if r.status >= 400:
                code, msg = _error(raw)
                raise BinanceError(r.status, code, msg)
            return msgspec.json.decode(raw) if raw else {}

    # --- the calls the connector makes ---------------------------------------------------------
    async def exchange_info(self) -> dict[str, Any]:
        out: dict[str, Any] = await self.request("GET", "/fapi/v1/exchangeInfo")
        return out

    async def depth(self, symbol: str, limit: int = 1000) -> dict[str, Any]:
        out: dict[str, Any] = await self.request("GET", "/fapi/v1/depth", {"symbol": symbol, "limit": limit})
        return out

    async def open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/fapi/v1/openOrders", {"symbol": symbol}, signed=True)
        return out

    async def query_order(self, symbol: str, order_id: int) -> dict[str, Any]:
        params = {"symbol": symbol, "orderId": order_id}
        out: dict[str, Any] = await self.request("GET", "/fapi/v1/order", params, signed=True)
        return out

    async def all_orders(self, symbol: str, order_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Orders of `symbol` from `order_id` on (open and recent finished ones; weight 5)."""
        params = {"symbol": symbol, "orderId": order_id, "limit": limit}
        out: list[dict[str, Any]] = await self.request("GET", "/fapi/v1/allOrders", params, signed=True)
        return out

    async def user_trades(self, symbol: str, limit: int = 1000, from_id: int | None = None) -> list[dict[str, Any]]:
        """The most recent `limit` trades, or with `from_id` the first `limit` from that id on."""
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if from_id is not None:
            params["fromId"] = from_id
        out: list[dict[str, Any]] = await self.request("GET", "/fapi/v1/userTrades", params, signed=True)
        return out

    async def position_risk(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/fapi/v3/positionRisk", signed=True)
        return out

    async def balance(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.request("GET", "/fapi/v3/balance", signed=True)
        return out

    async def listen_key(self) -> str:
        """A user-data-stream key (the account's live one, extended, if it has one)."""
        body = await self.request("POST", "/fapi/v1/listenKey")
        return str(body["listenKey"])

    async def keepalive_listen_key(self) -> None:
        await self.request("PUT", "/fapi/v1/listenKey")

    async def countdown_cancel_all(self, symbol: str, countdown_ms: int) -> None:
        """Binance's dead man's switch: cancel `symbol`'s open orders unless called again within
        `countdown_ms` (0 stops the timer)."""
        if self.dry_run:
            return
        await self.request(
            "POST", "/fapi/v1/countdownCancelAll", {"symbol": symbol, "countdownTime": countdown_ms}, signed=True
        )


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _error(raw: bytes) -> tuple[int, str]:
    try:
        body = msgspec.json.decode(raw)
        return int(body.get("code", 0)), str(body.get("msg", ""))
    except (msgspec.DecodeError, AttributeError, TypeError, ValueError):
        return 0, raw[:200].decode(errors="replace")


async def retry_limited(call: Any, attempts: int = 3) -> Any:
    """Await a REST call made by `call()`, waiting out 429s (`Retry-After`) up to `attempts` times."""
    for n in range(attempts):
        try:
            return await call()
        except Banned:
            raise
        except RateLimited as e:
            if n == attempts - 1:
                raise
            await asyncio.sleep(min(e.retry_after, 30.0))
    raise AssertionError("unreachable")
