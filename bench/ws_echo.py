"""WebSocket library choice, measured: echo round-trip latency on loopback.

Each server runs in its own process (uvloop); the client runs here and does N sequential
round trips of a 200-byte text message, recording each into an HdrHistogram. The floor is a
raw uvloop TCP echo measured in the same run. Prints JSON with p50/p99/p99.9 and ratios.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import emit

MSG = (
    b'{"type":"order","order_id":"o1","market":"BTC-PERP","side":"buy","price":"60000.1","qty":"0.01"'
    + b" " * 100
    + b"}"
)
KINDS = ("tcp", "picows", "websockets", "aiohttp")


# --- servers (run in a child process) ------------------------------------------------
async def serve(kind: str) -> None:
    loop = asyncio.get_running_loop()
    if kind == "tcp":

        class Echo(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.t = transport

            def data_received(self, data: bytes) -> None:
                self.t.write(data)

        server: Any = await loop.create_server(Echo, "127.0.0.1", 0)
    elif kind == "picows":
        import picows

        class Listener(picows.WSListener):
            def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
                if frame.msg_type == picows.WSMsgType.TEXT:
                    transport.send(picows.WSMsgType.TEXT, frame.get_payload_as_bytes())

        server = await picows.ws_create_server(lambda _req: Listener(), "127.0.0.1", 0)
    elif kind == "websockets":
        import websockets

        async def handler(ws: Any) -> None:
            async for m in ws:
                await ws.send(m)

        server = await websockets.serve(handler, "127.0.0.1", 0, compression=None)
    else:
        from aiohttp import web

        async def ws_handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            async for m in ws:
                await ws.send_str(m.data)
            return ws

        app = web.Application()
        app.router.add_get("/", ws_handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await asyncio.Event().wait()


# --- clients -------------------------------------------------------------------------
async def client(kind: str, port: int, n: int, hist: HdrHistogram) -> None:
    clock = time.perf_counter_ns
    if kind == "tcp":
        loop = asyncio.get_running_loop()
        box: list[asyncio.Future[None]] = []
        need = [0]

        class Proto(asyncio.Protocol):  # protocol-level, like the WebSocket clients
            def data_received(self, data: bytes) -> None:
                need[0] -= len(data)
                if need[0] <= 0:
                    box[0].set_result(None)

        transport, _ = await loop.create_connection(Proto, "127.0.0.1", port)
        for _ in range(n):
            box[:] = [loop.create_future()]
            need[0] = len(MSG)
            t0 = clock()
            transport.write(MSG)
            await box[0]
            hist.record_value(clock() - t0)
        transport.close()
    elif kind == "picows":
        import picows

        got: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(picows.WSListener):
            def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
                got.put_nowait(frame.get_payload_as_bytes())

        ws_transport, _ = await picows.ws_connect(Client, f"ws://127.0.0.1:{port}/")
        for _ in range(n):
            t0 = clock()
            ws_transport.send(picows.WSMsgType.TEXT, MSG)
            await got.get()
            hist.record_value(clock() - t0)
        ws_transport.disconnect()
    elif kind == "websockets":
        import websockets

        async with websockets.connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
            text = MSG.decode()
            for _ in range(n):
                t0 = clock()
                await ws.send(text)
                await ws.recv()
                hist.record_value(clock() - t0)
    else:
        import aiohttp

        async with aiohttp.ClientSession() as s, s.ws_connect(f"http://127.0.0.1:{port}/") as aws:
            text = MSG.decode()
            for _ in range(n):
                t0 = clock()
                await aws.send_str(text)
                await aws.receive()
                hist.record_value(clock() - t0)


def measure(kind: str, n: int) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        hist = HdrHistogram(1, 10_000_000_000, 3)
        warm = HdrHistogram(1, 10_000_000_000, 3)
        uvloop.run(client(kind, port, n // 10, warm))
        uvloop.run(client(kind, port, n, hist))
        return {f"p{p}_us": round(hist.get_value_at_percentile(p) / 1000, 1) for p in (50, 99, 99.9)}
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    if "--serve" in sys.argv:
        uvloop.run(serve(sys.argv[sys.argv.index("--serve") + 1]))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    res = {k: measure(k, n) for k in KINDS}
    floor = res["tcp"]
    for k in KINDS[1:]:
        res[k]["p50_vs_tcp"] = round(res[k]["p50_us"] / floor["p50_us"], 2)
        res[k]["p99_vs_tcp"] = round(res[k]["p99_us"] / floor["p99_us"], 2)
    emit("ws_echo", {"round_trips": n, "message_bytes": len(MSG), "results": res})


if __name__ == "__main__":
    main()
