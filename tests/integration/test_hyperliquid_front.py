"""The venue's Hyperliquid front, raw: requests written by hand (aiohttp, websockets) and signed
with protocol/hyperliquid/signing (which reproduces the official SDK's vectors): the edges of the
protocol the SDK and ccxt tests do not reach: nonces, expiry, signatures on either network,
hashing in the received key order, API wallets and their limits, the per-address budget and
the IP weight, the socket's ping, subscriptions, posts and coalesced books, and `--replay`."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from agenthft.children import dies_with_parent
from agenthft.model import Side
from agenthft.protocol.hyperliquid import wire
from agenthft.protocol.hyperliquid.signing import Wallet

from .hyperliquid_env import HyperliquidEnv, start, stop


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_last = [0]


def fresh() -> int:
    """A nonce never used here before: now, or one past the last."""
    _last[0] = max(now_ms(), _last[0] + 1)
    return _last[0]


def signed(wallet: Wallet, action: dict[str, Any], nonce: int | None = None, mainnet: bool = False, **kw: Any) -> Any:
    n = nonce if nonce is not None else fresh()
    return wire.exchange_body(action, n, wallet.sign_l1(action, n, mainnet, **kw), **kw)


def order(price: str = "59000", size: str = "0.01", tif: str = "Gtc") -> dict[str, Any]:
    return wire.order_action([wire.order_wire(0, True, price, size, False, tif)])


async def post(env: HyperliquidEnv, path: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(env.base_url + path, json=body) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


async def test_info_refuses_what_it_cannot_read_as_hyperliquid_does(hyperliquid: HyperliquidEnv):
    assert await post(hyperliquid, "/info", {"type": "noSuchThing"}) == (
        422,
        "Failed to deserialize the JSON body into the target type",
    )
    assert (await post(hyperliquid, "/info", {"type": "openOrders"}))[0] == 422, "no user"
    assert await post(hyperliquid, "/info", {"type": "l2Book", "coin": "DOGE"}) == (200, None)
    _, role = await post(hyperliquid, "/info", {"type": "userRole", "user": hyperliquid.agent.address})
    assert role == {"role": "agent", "data": {"user": hyperliquid.address.lower()}}
    assert (await post(hyperliquid, "/info", {"type": "perpDexs"}))[1] == [None]


async def test_nonces_expiry_and_signatures(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    w = env.wallet
    n = fresh()
    assert (await post(env, "/exchange", signed(w, order(), n)))[1]["status"] == "ok"
    assert (await post(env, "/exchange", signed(w, order(), n)))[1] == {
        "status": "err",
        "response": f"Invalid nonce: duplicate nonce {n}",
    }
    old = n - 3 * 86_400_000
    assert (await post(env, "/exchange", signed(w, order(), old)))[1]["response"].startswith(
        "Invalid nonce: nonce too low"
    )
    expired = signed(w, order(), expires_after=now_ms() - 1)
    assert (await post(env, "/exchange", expired))[1] == {"status": "err", "response": "Action already expired"}
    # signed as mainnet ("a"): ccxt's default; accepted too
    assert (await post(env, "/exchange", signed(w, order(), mainnet=True)))[1]["status"] == "ok"
    # hashed as received: the same action with its keys in another order was not what was signed
    body = signed(w, order())
    body["action"] = {"grouping": "na", "type": "order", "orders": body["action"]["orders"]}
    refused = (await post(env, "/exchange", body))[1]["response"]
    assert re.fullmatch(r"L1 error: User or API Wallet 0x[0-9a-fA-F]{40} does not exist\.", refused)
    assert env.address not in refused
    bad = signed(w, order())
    bad["signature"] = {"r": "0x1", "s": "0xzz", "v": 27}
    assert (await post(env, "/exchange", bad))[1] == {"status": "err", "response": "Unable to recover signer."}
    vault = signed(w, order(), vault_address="0x1719884eb866cb12b2287399b15f7db5e7d775ea")
    assert (await post(env, "/exchange", vault))[1]["status"] == "err"
    assert len(env.venue.open_order_infos(env.account)) == 2


async def test_api_wallets_named_unnamed_replaced_limited_and_expiring(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    w = env.wallet

    async def approve(agent: Wallet, name: str) -> Any:
        n = fresh()
        action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": name, "nonce": n}
        sig = w.sign_user(action, mainnet=False)
        return (await post(env, "/exchange", wire.exchange_body(action, n, sig)))[1]

    agents = [Wallet.create() for _ in range(5)]
    for i, a in enumerate(agents[:2]):
        assert await approve(a, f"desk{i}") == {"status": "ok", "response": {"type": "default"}}
    assert (await approve(agents[2], "desk2"))["status"] == "err", "bot1 + 2: three named agents at most"
    assert (await approve(agents[2], "desk0"))["status"] == "ok", "the name taken again: replaces desk0"
    assert (await post(env, "/exchange", signed(agents[0], order())))[1]["status"] == "err", "desk0's old key"
    assert (await post(env, "/exchange", signed(agents[2], order())))[1]["status"] == "ok"
    assert (await approve(agents[3], f"brief valid_until {now_ms() - 1}"))["status"] == "err", "still 3 named"
    assert (await approve(agents[3], ""))["status"] == "ok", "one unnamed besides"
    assert (await post(env, "/exchange", signed(agents[3], order(price="58000"))))[1]["status"] == "ok"
    env.front.wallets.agents[agents[4].address.lower()] = env.front.wallets.agents[agents[3].address.lower()]._replace(
        address=agents[4].address, valid_until_ms=now_ms() - 1
    )
    assert (await post(env, "/exchange", signed(agents[4], order())))[1]["status"] == "err", "expired"


async def test_the_address_budget_then_one_request_every_ten_seconds():
    env = await start(address_budget=3)
    clock = [0]
    env.front.clock = lambda: time.time_ns() + clock[0]
    try:
        for _ in range(3):
            assert (await post(env, "/exchange", signed(env.wallet, order())))[1]["status"] == "ok"
        over = (await post(env, "/exchange", signed(env.wallet, order())))[1]
        assert over["status"] == "ok", "the first one over passes: one every 10 s"
        refused = (await post(env, "/exchange", signed(env.wallet, order())))[1]
        assert refused["status"] == "err" and refused["response"].startswith(
            "Too many cumulative requests sent (5 > 3)"
        )
        clock[0] = 10_000_000_000  # ten seconds on
        assert (await post(env, "/exchange", signed(env.wallet, order(), now_ms() + 10_000)))[1]["status"] == "ok"
        limits = (await post(env, "/info", {"type": "userRateLimit", "user": env.address}))[1]
        assert (limits["nRequestsUsed"], limits["nRequestsCap"]) == (5, 3)
    finally:
        await stop(env)


async def test_over_the_ip_weight_a_429_with_a_null_body():
    env = await start(ip_weight_per_min=45)
    try:
        assert (await post(env, "/info", {"type": "meta"}))[0] == 200  # 20
        assert (await post(env, "/info", {"type": "meta"}))[0] == 200  # 40
        assert await post(env, "/info", {"type": "meta"}) == (429, None)
        assert (await post(env, "/info", {"type": "l2Book", "coin": "BTC"}))[0] == 200  # 2 still fit
    finally:
        await stop(env)


async def recv(ws: Any, channel: str, timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if msg.get("channel") == channel:
            return msg["data"]


async def test_the_socket_ping_subscriptions_posts_and_one_book_per_turn(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    async with websockets.connect(env.front.ws_url) as ws:
        await ws.send(json.dumps({"method": "ping"}))
        assert json.loads(await ws.recv()) == {"channel": "pong"}
        sub = {"type": "l2Book", "coin": "BTC"}
        await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        assert await recv(ws, "subscriptionResponse") == {"method": "subscribe", "subscription": sub}
        assert (await recv(ws, "l2Book"))["levels"] == [[], []]
        await ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
        assert (await recv(ws, "error")).startswith("Already subscribed")
        for i in range(3):  # three changes in one turn of the loop: one book
            env.liquidity(Side.SELL, str(60010 + i), "0.1")
        book = await recv(ws, "l2Book")
        assert [lv["px"] for lv in book["levels"][1]] == ["60010", "60011", "60012"]
        env.liquidity(Side.BUY, "59990", "0.1")
        assert (await recv(ws, "l2Book"))["levels"][0] == [{"px": "59990", "sz": "0.1", "n": 1}]
        await ws.send(
            json.dumps({"method": "post", "id": 7, "request": {"type": "info", "payload": {"type": "allMids"}}})
        )
        answer = await recv(ws, "post")
        assert answer == {
            "id": 7,
            "response": {"type": "info", "payload": {"type": "allMids", "data": {"BTC": "60000"}}},
        }
        body = signed(env.wallet, order(price="60010", size="0.1", tif="Ioc"))
        await ws.send(json.dumps({"method": "post", "id": 8, "request": {"type": "action", "payload": body}}))
        answer = await recv(ws, "post")
        assert answer["id"] == 8 and answer["response"]["payload"]["response"]["data"]["statuses"][0]["filled"] == {
            "totalSz": "0.1",
            "avgPx": "60010",
            "oid": answer["response"]["payload"]["response"]["data"]["statuses"][0]["filled"]["oid"],
        }
        await ws.send(json.dumps({"method": "post", "id": 9, "request": {"type": "nonsense"}}))
        assert (await recv(ws, "post"))["response"]["type"] == "error"
        await ws.send(json.dumps({"method": "unsubscribe", "subscription": sub}))
        assert await recv(ws, "subscriptionResponse") == {"method": "unsubscribe", "subscription": sub}
        await ws.send(json.dumps({"method": "dance"}))
        assert "unknown method" in await recv(ws, "error")


def test_venue_dialect_hyperliquid_replays_a_recording(data: Path):
    capture = data / "hftbacktest/usdm/btcusdt_20240808.gz"
    if not capture.exists():
        pytest.skip(f"no capture {capture}")
    cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--dialect", "hyperliquid", "--replay", str(capture)]
    proc = subprocess.Popen(
        [*cmd, "--speed", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=dies_with_parent()
    )
    try:
        assert proc.stdout is not None
        text = ""
        while "replay" not in text:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            text += line
        exports = dict(re.findall(r"export (\w+)=(\S+)", text))
        assert set(exports) == {
            "HYPERLIQUID_PRIVATE_KEY",
            "HYPERLIQUID_ACCOUNT_ADDRESS",
            "HYPERLIQUID_BASE_URL",
            "HYPERLIQUID_AGENT_PRIVATE_KEY",
        }
        assert Wallet(exports["HYPERLIQUID_PRIVATE_KEY"]).address == exports["HYPERLIQUID_ACCOUNT_ADDRESS"]
        assert "perps BTC (BTCUSDT" in text, "the recording's market, named by its base"
        import urllib.request

        def info(body: dict[str, Any]) -> Any:
            req = urllib.request.Request(
                exports["HYPERLIQUID_BASE_URL"] + "/info",
                json.dumps(body).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read())

        deadline = time.monotonic() + 30
        while not (book := info({"type": "l2Book", "coin": "BTC"}))["levels"][0]:
            assert time.monotonic() < deadline, "the replay fills the book"
        assert float(book["levels"][0][0]["px"]) < float(book["levels"][1][0]["px"])
    finally:
        proc.terminate()
        proc.wait(10)
