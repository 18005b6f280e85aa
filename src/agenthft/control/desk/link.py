"""The desk's line to one strategy process: its control plane's HTTP door on loopback, with the
token the desk gave it. Reads come back as the child's plane answered them, or typed
(`snapshots`: each strategy's `AgentSnapshot`); a refusal is a `ControlError` with the child's
own one-line message, silence is a `ControlError` naming the strategy."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec

from agenthft.control.plane import ControlError
from agenthft.runtime.snapshot import AgentSnapshot

_SNAPSHOTS = msgspec.json.Decoder(dict[str, AgentSnapshot])


class ChildLink:
    def __init__(self, name: str, url: str, token: str, timeout_s: float = 10.0) -> None:
        self.name, self.url = name, url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._http

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> bytes:
        try:
            async with self._session().request(method, self.url + path, json=body, params=query or None) as r:
                data = await r.read()
                if r.status == 403:
                    raise PermissionError(_message(data))
                if r.status != 200:
                    raise ControlError(f"strategy {self.name!r}: {_message(data)}")
                return data
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ControlError(f"strategy {self.name!r} did not answer ({type(e).__name__}: {e})") from None

    async def get(self, path: str, **query: Any) -> Any:
        return msgspec.json.decode(await self._call("GET", path, **query))

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return msgspec.json.decode(await self._call("POST", path, body))

    async def snapshots(self) -> dict[str, AgentSnapshot]:
        """The child's agents' typed snapshots (`GET /v1/snapshots`), by strategy name."""
        return _SNAPSHOTS.decode(await self._call("GET", "/v1/snapshots"))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def _message(data: bytes) -> str:
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data[:200].decode(errors="replace")
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)
