"""Run a venue: WebSocket `/trading` (picows) and REST (aiohttp) in one uvloop process."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from agenthft.venue.config import VenueConfig
from agenthft.venue.core import Venue
from agenthft.venue.rest import VenueRunner, build_app
from agenthft.venue.ws import Delay, serve_ws


class VenueServer:
    """A started venue. `ws_url` / `rest_url` say where; `stop()` closes both listeners."""

    def __init__(self, config: VenueConfig, state_path: str | None = None) -> None:
        self.config = config
        self.venue = Venue(config, state_path)
        self.ws_url = ""
        self.rest_url = ""
        self._ws: asyncio.base_events.Server | None = None
        self._runner: VenueRunner | None = None
        s = config.venue
        self.delay = Delay(s.delay_us, s.jitter_us)  # change delay_s / jitter_s live to inject a spike
        self._host = "127.0.0.1"
        self._ws_port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0, rest_port: int | None = None) -> VenueServer:
        self._ws = await serve_ws(self.venue, host, port, self.delay)
        ws_port = self._ws.sockets[0].getsockname()[1]
        self._host, self._ws_port = host, ws_port
        self._runner = VenueRunner(build_app(self.venue), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, ws_port + 1 if rest_port is None and port else rest_port or 0)
        await site.start()
        rest = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ws_url = f"ws://{host}:{ws_port}/trading"
        self.rest_url = f"http://{host}:{rest}"
        return self

    async def restart_ws(self, down_s: float = 0.2) -> None:
        """Take the WebSocket gateway down (every connection drops) and bring it back on the
        same port after `down_s`; the matching state survives, as in a gateway restart."""
        assert self._ws is not None
        self._ws.close()
        self.venue.shutdown()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ws.wait_closed(), 5)
        await asyncio.sleep(down_s)
        self._ws = await serve_ws(self.venue, self._host, self._ws_port, self.delay)

    async def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self.venue.shutdown()  # on 3.11 wait_closed() waits for every open connection
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ws.wait_closed(), 5)
        if self._runner is not None:
            await self._runner.cleanup()
