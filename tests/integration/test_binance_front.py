"""The Binance USD-M front on loopback, spoken to raw (aiohttp + websockets, signing from
protocol/binance_usdm): signed requests, every error case, rate limits, the WebSocket API,
streams and their depth chain, listenKeys and countdownCancelAll. Every answer is checked
against the venue's own state."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import msgspec
import pytest
import websockets

from agenthft.model import OrderStatus, Side
from agenthft.protocol.binance_usdm.signing import ed25519_sign, hmac_sign, ws_payloads
from agenthft.venue.config import Tier

from .binance_env import ED_PEM, BinanceEnv, config, running

BTC = "BTCUSDT"


def limit(price: str = "59000", qty: str = "0.01", side: str = "BUY", tif: str = "GTC", **kw: Any) -> dict[str, Any]:
    return {"symbol": BTC, "side": side, "type": "LIMIT", "timeInForce": tif, "quantity": qty, "price": price, **kw}


async def until(cond: Any, timeout: float = 5.0) -> None:
    """Wait for a condition (no fixed sleeps): poll the loop until `cond()` holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


class WsJson:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, obj: Any) -> None:
        await self.ws.send(json.dumps(obj))

    async def recv(self, timeout: float = 3.0) -> Any:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, pred: Any, timeout: float = 3.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - time.monotonic()))
            if pred(msg):
                return msg


async def ws_connect(url: str) -> WsJson:
    return WsJson(await websockets.connect(url, compression=None))


# --- signed requests ------------------------------------------------------------------------------
async def test_order_signed_in_query_body_or_both_and_the_query_wins(binance: BinanceEnv):
    st, o, h = await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="q1"))
    assert st == 200 and o["status"] == "NEW" and o["clientOrderId"] == "q1" and o["price"] == "59000.0"
    assert h["X-MBX-ORDER-COUNT-10S"] == "1" and "X-MBX-USED-WEIGHT-1M" in h
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="b1"), where="body")
    assert st == 200 and o["clientOrderId"] == "b1"
    # mixed: query then body, signed over their plain concatenation (Binance's example 3)
    ts = int(time.time() * 1000)
    query = f"symbol={BTC}&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.01&price=58000&newClientOrderId=m1&recvWindow=5000&timestamp={ts}"
    sig = hmac_sign(binance.secret, query + body)
    async with binance.http.post(
        f"{binance.base_url}/fapi/v1/order?{query}",
        data=f"{body}&signature={sig}",
        headers={"X-MBX-APIKEY": binance.api_key, "Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert r.status == 200 and (await r.json())["clientOrderId"] == "m1"
    # the same key in both: the query's value is the one used (and signed)
    ts = int(time.time() * 1000)
    query, body = (
        f"symbol={BTC}&price=57000",
        f"side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1&timestamp={ts}",
    )
    sig = hmac_sign(binance.secret, query + body)
    async with binance.http.post(
        f"{binance.base_url}/fapi/v1/order?{query}",
        data=f"{body}&signature={sig}",
        headers={"X-MBX-APIKEY": binance.api_key, "Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert r.status == 200 and (await r.json())["price"] == "57000.0"
    live = {o.order_id: o.price for o in binance.venue.open_order_infos(binance.account)}
    assert live["q1"] == live["b1"] == 590000 and live["m1"] == 580000 and 570000 in live.values()


async def test_ed25519_signed_requests_are_verified(binance: BinanceEnv):
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="ed1"), ed25519=True)
    assert st == 200 and o["status"] == "NEW"
    st, err, _ = await binance.request(
        "POST", "/fapi/v1/order", limit(newClientOrderId="ed2"), ed25519=True, sign_over="tampered"
    )
    assert (st, err["code"]) == (400, -1022)
    assert binance.venue.find_order(binance.account, "ed1") is not None
    assert binance.venue.find_order(binance.account, "ed2") is None


@pytest.mark.parametrize(
    ("kw", "status", "code"),
    [
        ({"api_key": None}, 401, -2014),
        ({"api_key": "nope"}, 401, -2015),
        ({"timestamp": 1}, 400, -1021),
        ({"timestamp": 10**13 * 2}, 400, -1021),
        ({"sign_over": "x"}, 400, -1022),
        ({"signed": False}, 400, -1102),
    ],
)
async def test_key_time_and_signature_errors(binance: BinanceEnv, kw: dict[str, Any], status: int, code: int):
    st, err, h = await binance.request("GET", "/fapi/v1/openOrders", {"symbol": BTC}, **kw)
    assert (st, err["code"]) == (status, code), err
    assert isinstance(err["msg"], str) and "X-MBX-USED-WEIGHT-1M" in h


async def test_recv_window_rule_and_its_maximum(binance: BinanceEnv):
    old = int(time.time() * 1000) - 8000
    st, err, _ = await binance.request("GET", "/fapi/v1/openOrders", {"symbol": BTC, "timestamp": old})
    assert err["code"] == -1021, "older than the default 5000 ms window"
    st, ok, _ = await binance.request(
        "GET", "/fapi/v1/openOrders", {"symbol": BTC, "timestamp": old, "recvWindow": 10000}
    )
    assert st == 200 and ok == []
    st, err, _ = await binance.request("GET", "/fapi/v1/openOrders", {"symbol": BTC, "recvWindow": 60001})
    assert err["code"] == -1131


async def test_secrets_never_appear_in_answers(binance: BinanceEnv):
    _st, err, _ = await binance.request("GET", "/fapi/v1/account", {"secret": binance.secret}, sign_over="x")
    assert binance.secret not in json.dumps(err)
    for path in ("/fapi/v3/account", "/fapi/v2/balance", "/fapi/v1/exchangeInfo"):
        _, body, _ = await binance.request("GET", path, signed=path != "/fapi/v1/exchangeInfo")
        assert binance.secret not in json.dumps(body)


# --- order entry errors: one per code ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "code"),
    [
        (limit(symbol="NOPE"), -1121),
        ({"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "59000"}, -1102),
        ({"symbol": BTC, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "59000"}, -1102),
        ({"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}, -1102),
        (limit(side="UP"), -1117),
        ({**limit(), "type": "STOP"}, -1116),
        (limit(price="59000.05"), -1111),
        (limit(price="59000.15"), -1111),
        (limit(qty="0"), -4003),
        (limit(qty="0.0005"), -1111),
        (limit(tif="GTD"), -1130),
        (limit(newClientOrderId="bad id!"), -4015),
        (limit(price="59000", qty="0.00001"), -1111),
        (limit(price="1000", qty="0.001"), -4164),
        (limit(price="59000", qty="200"), -2019),
        ({"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"}, -2020),
    ],
)
async def test_order_refusals_map_to_binance_codes(binance: BinanceEnv, params: dict[str, Any], code: int):
    st, err, _h = await binance.request("POST", "/fapi/v1/order", params)
    assert (st, err["code"]) == (400, code), err
    assert binance.venue.open_order_infos(binance.account) == []


async def test_tick_and_step_errors_on_a_coarse_grid(binance: BinanceEnv):
    # ETH-PERP: tick 0.05, step 0.02, no Binance-style alias: ETHPERP on the front
    eth = {"symbol": "ETHPERP", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    for qty, price, code in [
        ("1", "3000.01", -4014),
        ("1", "3000.001", -1111),
        ("1.01", "3000", -4023),
        ("1.001", "3000", -1111),
        ("-2", "3000", -4003),
        ("1", "abc", -1102),
    ]:
        _, err, _ = await binance.request("POST", "/fapi/v1/order", {**eth, "quantity": qty, "price": price})
        assert err["code"] == code, (qty, price, err)
    st, o, _ = await binance.request("POST", "/fapi/v1/order", {**eth, "quantity": "1.00", "price": "3000.050"})
    assert st == 200 and (o["price"], o["origQty"]) == ("3000.05", "1.00")
    assert binance.venue.find_order(binance.account, o["clientOrderId"]).price == 60001  # type: ignore[union-attr]


async def test_post_only_fok_reduce_only_and_price_band(binance: BinanceEnv):
    binance.liquidity(Side.SELL, "60000", "0.02")
    binance.liquidity(Side.BUY, "59990", "0.02")
    st, err, _ = await binance.request("POST", "/fapi/v1/order", limit(price="60000", tif="GTX"))
    assert err["code"] == -5022
    st, err, _ = await binance.request("POST", "/fapi/v1/order", limit(price="60000", qty="0.03", tif="FOK"))
    assert err["code"] == -5021 and binance.venue.engine.l2("BTC-PERP")[1] == [(600000, 20)], "nothing traded"
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(price="60000", qty="0.01", tif="FOK"))
    assert st == 200 and o["status"] == "FILLED" and o["timeInForce"] == "FOK" and o["executedQty"] == "0.010"
    st, err, _ = await binance.request("POST", "/fapi/v1/order", limit(price="59000", reduceOnly="true"))
    assert err["code"] == -2022, "long 0.01: a buy does not reduce"
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(side="SELL", price="61000", reduceOnly="true"))
    assert st == 200 and o["reduceOnly"] is True
    st, err, _ = await binance.request("POST", "/fapi/v1/order", limit(price="63500"))
    assert err["code"] == -4016, "a buy over mark + 5 %"
    st, err, _ = await binance.request("POST", "/fapi/v1/order", limit(side="SELL", price="56000"))
    assert err["code"] == -4024, "a sell under mark - 5 %"
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(price="59995", qty="0.005", tif="IOC"))
    assert o["status"] == "EXPIRED" and o["executedQty"] == "0.000"


async def test_halted_market_and_position_limit(binance: BinanceEnv):
    binance.venue.engine.halt("BTC-PERP")
    _, info, _ = await binance.request("GET", "/fapi/v1/exchangeInfo", signed=False)
    assert next(s for s in info["symbols"] if s["symbol"] == BTC)["status"] == "BREAK"
    _, err, _ = await binance.request("POST", "/fapi/v1/order", limit())
    assert err["code"] == -2010 and "halted" in err["msg"]
    binance.venue.engine.halt("BTC-PERP", False)
    binance.venue.engine.accounts[binance.account].position_limit = 5  # lots
    _, err, _ = await binance.request("POST", "/fapi/v1/order", limit(qty="0.006"))
    assert err["code"] == -2027
    st, _, _ = await binance.request("POST", "/fapi/v1/order", limit(qty="0.005"))
    assert st == 200


async def test_duplicate_client_order_id_leaves_the_original_untouched(binance: BinanceEnv):
    _, first, _ = await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="dup"))
    _st, err, _ = await binance.request(
        "POST", "/fapi/v1/order", limit(price="58000", qty="0.02", newClientOrderId="dup")
    )
    assert err["code"] == -4116
    o = binance.venue.find_order(binance.account, "dup")
    assert o is not None and (o.oid, o.price, o.qty) == (first["orderId"], 590000, 10)


async def test_query_cancel_modify_and_their_unknown_order_errors(binance: BinanceEnv):
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="c1"))
    oid = o["orderId"]
    st, q, _ = await binance.request("GET", "/fapi/v1/order", {"symbol": BTC, "orderId": oid})
    assert q["status"] == "NEW" and "time" in q and "cumQty" not in q
    st, q, _ = await binance.request("GET", "/fapi/v1/openOrder", {"symbol": BTC, "origClientOrderId": "c1"})
    assert q["orderId"] == oid
    st, m, _ = await binance.request(
        "PUT", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "orderId": oid, "quantity": "0.01", "price": "59000"}
    )
    assert m.get("code") == -5027
    st, m, _ = await binance.request(
        "PUT", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "orderId": oid, "quantity": "0.02", "price": "59001"}
    )
    assert st == 200 and (m["orderId"], m["origQty"], m["price"]) == (oid, "0.020", "59001.0")
    info = binance.venue.find_order(binance.account, "c1")
    assert info is not None and (info.oid, info.qty, info.price) == (oid, 20, 590010)
    st, c, _ = await binance.request("DELETE", "/fapi/v1/order", {"symbol": BTC, "origClientOrderId": "c1"})
    assert st == 200 and c["status"] == "CANCELED" and info.status is OrderStatus.CANCELLED
    st, err, _ = await binance.request("DELETE", "/fapi/v1/order", {"symbol": BTC, "orderId": oid})
    assert err["code"] == -2011
    st, err, _ = await binance.request("GET", "/fapi/v1/openOrder", {"symbol": BTC, "orderId": oid})
    assert err["code"] == -2013, "done orders are not open"
    st, q, _ = await binance.request("GET", "/fapi/v1/order", {"symbol": BTC, "orderId": oid})
    assert q["status"] == "CANCELED", "a done order is still queryable"
    st, err, _ = await binance.request("GET", "/fapi/v1/order", {"symbol": BTC, "orderId": 987654})
    assert err["code"] == -2013
    st, err, _ = await binance.request(
        "PUT", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "orderId": oid, "quantity": "0.01", "price": "1"}
    )
    assert err["code"] == -2013
    st, err, _ = await binance.request("DELETE", "/fapi/v1/order", {"symbol": BTC})
    assert err["code"] == -1102


async def test_fills_positions_balance_and_trades_agree_with_the_venue(binance: BinanceEnv):
    binance.liquidity(Side.SELL, "60000", "0.05")
    _, o, _ = await binance.request(
        "POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.03"}
    )
    assert o["status"] == "FILLED" and o["avgPrice"].startswith("60000.0") and o["cumQuote"] == "1800.0000"
    _, trades, _ = await binance.request("GET", "/fapi/v1/userTrades", {"symbol": BTC})
    assert [(t["price"], t["qty"], t["side"], t["maker"]) for t in trades] == [("60000.0", "0.030", "BUY", False)]
    fill = binance.venue.find_order(binance.account, o["clientOrderId"]).fills[0]  # type: ignore[union-attr]
    assert trades[0]["id"] == fill.trade_id and trades[0]["commission"] == "0.90000000"
    _, pos, _ = await binance.request("GET", "/fapi/v3/positionRisk")
    assert [(p["symbol"], p["positionAmt"], p["entryPrice"][:7]) for p in pos] == [(BTC, "0.030", "60000.0")]
    assert binance.venue.engine.accounts[binance.account].positions["BTC-PERP"].size == 30
    _, acc, _ = await binance.request("GET", "/fapi/v3/account")
    usdc = next(a for a in acc["assets"] if a["asset"] == "USDC")
    bal = binance.venue.balances(binance.account)["USDC"]
    assert float(usdc["walletBalance"]) == pytest.approx(bal["total"]) and usdc["updateTime"] > 0
    _, b2, _ = await binance.request("GET", "/fapi/v2/balance")
    assert b2[0]["balance"] == usdc["walletBalance"]
    _st, v2, _ = await binance.request("GET", "/fapi/v2/positionRisk", {"symbol": BTC})
    assert v2[0]["marginType"] == "cross" and v2[0]["leverage"] == "10"


async def test_cancel_all_open_orders_and_open_orders_listing(binance: BinanceEnv):
    for i in range(3):
        await binance.request("POST", "/fapi/v1/order", limit(price=str(58000 + i), newClientOrderId=f"o{i}"))
    _, rows, _h = await binance.request("GET", "/fapi/v1/openOrders", {"symbol": BTC})
    assert [r["clientOrderId"] for r in rows] == ["o0", "o1", "o2"]
    _, rows_all, _ = await binance.request("GET", "/fapi/v1/openOrders")
    assert len(rows_all) == 3
    _, done, _ = await binance.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": BTC})
    assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert binance.venue.open_order_infos(binance.account) == []
    _st, allo, _ = await binance.request("GET", "/fapi/v1/allOrders", {"symbol": BTC})
    assert [r["status"] for r in allo] == ["CANCELED"] * 3
    # with orderId: the orders from that id on, the first `limit` of them (Binance's paging)
    second = allo[1]["orderId"]
    _st, page, _ = await binance.request("GET", "/fapi/v1/allOrders", {"symbol": BTC, "orderId": second, "limit": 1})
    assert [r["clientOrderId"] for r in page] == ["o1"]


async def test_public_market_data_and_unknown_paths(binance: BinanceEnv):
    binance.liquidity(Side.SELL, "60000", "0.02")
    binance.liquidity(Side.BUY, "59990", "0.01")
    st, info, _ = await binance.request("GET", "/fapi/v1/exchangeInfo", signed=False, api_key=None)
    sym = next(s for s in info["symbols"] if s["symbol"] == BTC)
    assert sym["filters"][0]["tickSize"] == "0.1" and sym["orderTypes"] == ["LIMIT", "MARKET"]
    assert [r["limit"] for r in info["rateLimits"]] == [120000, 5000, 30000]
    st, book, h = await binance.request("GET", "/fapi/v1/depth", {"symbol": BTC, "limit": 5}, signed=False)
    assert book["lastUpdateId"] == binance.venue.engine.markets["BTC-PERP"].book_seq
    assert book["bids"] == [["59990.0", "0.010"]] and book["asks"] == [["60000.0", "0.020"]]
    assert h["X-MBX-USED-WEIGHT-1M"] == "2"
    st, err, _ = await binance.request("GET", "/fapi/v1/depth", {"symbol": BTC, "limit": 7}, signed=False)
    assert err["code"] == -1130
    st, t, _ = await binance.request("GET", "/fapi/v1/time", signed=False)
    assert abs(t["serverTime"] - time.time() * 1000) < 60_000
    st, err, _ = await binance.request("GET", "/fapi/v1/nothing", signed=False)
    assert st == 404 and err["code"] == -1000
    st, bt, _ = await binance.request("GET", "/fapi/v1/ticker/bookTicker", {"symbol": BTC}, signed=False)
    assert (bt["bidPrice"], bt["askPrice"]) == ("59990.0", "60000.0")


# --- rate limits --------------------------------------------------------------------------------------
def frozen() -> tuple[int, Any]:
    """A fixed venue clock (mid-minute): windows cannot roll over under a test."""
    t0 = (time.time_ns() // 60_000_000_000) * 60_000_000_000 + 30_000_000_000
    return t0 // 1_000_000, lambda: t0


async def test_weight_limit_answers_429_then_a_418_ban_with_retry_after():
    tier = Tier(orders_per_s=2, rest_per_min=1, weight_per_min=6, abuse_per_s=2)
    ms, clock = frozen()
    async with running(config(tier), clock=clock) as env:
        codes = []
        for _ in range(3):
            st, body, h = await env.request("GET", "/fapi/v1/openOrders", {"symbol": BTC}, timestamp=ms)
            codes.append((st, body if isinstance(body, list) else body["code"], h.get("X-MBX-USED-WEIGHT-1M")))
        assert codes[:2] == [(200, [], "1"), (200, [], "2")]
        st, body, h = await env.request("GET", "/fapi/v1/depth", {"symbol": BTC, "limit": 1000}, signed=False)
        assert (st, body["code"]) == (429, -1003) and int(h["Retry-After"]) >= 1
        statuses = []
        for _ in range(3):
            st, body, h = await env.request("GET", "/fapi/v1/depth", {"symbol": BTC, "limit": 1000}, signed=False)
            statuses.append(st)
        assert statuses[-1] == 418 and body["code"] == -1003 and int(h["Retry-After"]) > 60, "banned"
        st, body, h = await env.request("GET", "/fapi/v1/openOrders", {"symbol": BTC}, timestamp=ms)
        assert st == 418, "a ban covers every endpoint"


async def test_order_count_limit_is_the_keys_tier():
    tier = Tier(orders_per_s=1, rest_per_min=600, abuse_per_s=50)  # 1 order a second, 10 per 10 s
    ms, clock = frozen()
    async with running(config(tier), clock=clock) as env:
        out = []
        for i in range(3):
            st, body, h = await env.request("POST", "/fapi/v1/order", limit(price=str(58000 + i)), timestamp=ms)
            out.append((st, body.get("status") or body.get("code"), h.get("X-MBX-ORDER-COUNT-10S")))
        assert out[0] == (200, "NEW", "1") and out[1][:2] == (429, -1015) and out[2][:2] == (429, -1015)


# --- WebSocket API --------------------------------------------------------------------------------------
def signed_ws(env: BinanceEnv, method: str, params: dict[str, Any], rid: Any, encoded: bool = False) -> dict[str, Any]:
    p = {**params, "apiKey": env.api_key, "timestamp": int(time.time() * 1000)}
    payloads = ws_payloads(p)
    p["signature"] = hmac_sign(env.secret, payloads[-1] if encoded else payloads[0])
    return {"id": rid, "method": method, "params": p}


async def test_ws_api_places_queries_modifies_cancels_and_echoes_ids(binance: BinanceEnv):
    ws = await ws_connect(binance.front.ws_api_url)
    await ws.send(signed_ws(binance, "order.place", limit(newClientOrderId="a:b/c"), 7))
    r = await ws.recv()
    assert r["id"] == 7 and r["status"] == 200 and r["result"]["clientOrderId"] == "a:b/c"
    assert [x["rateLimitType"] for x in r["rateLimits"]] == ["REQUEST_WEIGHT", "ORDERS", "ORDERS"]
    oid = r["result"]["orderId"]
    # the SDK's percent-encoded signing string is accepted too
    await ws.send(signed_ws(binance, "order.status", {"symbol": BTC, "origClientOrderId": "a:b/c"}, "s1", encoded=True))
    r = await ws.recv()
    assert r["id"] == "s1" and r["result"]["orderId"] == oid
    await ws.send(
        signed_ws(
            binance,
            "order.modify",
            {
                "symbol": BTC,
                "side": "BUY",
                "orderId": oid,
                "quantity": "0.01",
                "price": "59002",
                "returnRateLimits": False,
            },
            None,
        )
    )
    r = await ws.recv()
    assert r["id"] is None and r["result"]["price"] == "59002.0" and "rateLimits" not in r
    await ws.send(signed_ws(binance, "order.cancel", {"symbol": BTC, "orderId": oid}, "c"))
    assert (await ws.recv())["result"]["status"] == "CANCELED"
    await ws.send(signed_ws(binance, "order.cancel", {"symbol": BTC, "orderId": oid}, "c2"))
    r = await ws.recv()
    assert (r["id"], r["status"], r["error"]["code"]) == ("c2", 400, -2011) and "rateLimits" in r
    bad = signed_ws(binance, "order.place", limit(), "bad")
    bad["params"]["price"] = "1"  # changed after signing
    await ws.send(bad)
    assert (await ws.recv())["error"]["code"] == -1022
    await ws.send(
        {"id": "x", "method": "order.place", "params": {**limit(), "apiKey": "nope", "timestamp": 1, "signature": "0"}}
    )
    r = await ws.recv()
    assert (r["status"], r["error"]["code"]) == (401, -2015)
    await ws.send({"id": 5, "method": "no.such", "params": {}})
    assert (await ws.recv())["error"]["code"] == -1000
    await ws.send("{not json")
    assert (await ws.recv())["status"] == 400
    for m in ("account.position", "account.balance", "account.status", "v2/account.balance"):
        await ws.send(signed_ws(binance, m, {}, m))
        r = await ws.recv()
        assert r["id"] == m and r["status"] == 200, r
    await ws.ws.close()


async def test_ws_api_session_logon_with_ed25519_then_unsigned_requests(binance: BinanceEnv):
    ws = await ws_connect(binance.front.ws_api_url)
    p = {"apiKey": binance.ed.api_key, "timestamp": int(time.time() * 1000)}
    p["signature"] = ed25519_sign(ED_PEM, ws_payloads(p)[0])
    await ws.send({"id": "logon", "method": "session.logon", "params": p})
    r = await ws.recv()
    assert r["result"]["apiKey"] == binance.ed.api_key and r["result"]["authorizedSince"] > 0
    await ws.send(
        {
            "id": 1,
            "method": "order.place",
            "params": {**limit(newClientOrderId="s1"), "timestamp": int(time.time() * 1000)},
        }
    )
    r = await ws.recv()
    assert r["status"] == 200 and binance.venue.find_order(binance.account, "s1") is not None
    await ws.send({"id": 2, "method": "session.logout", "params": {}})
    await ws.recv()
    await ws.send({"id": 3, "method": "order.place", "params": {**limit(), "timestamp": int(time.time() * 1000)}})
    assert (await ws.recv())["error"]["code"] == -2014
    # an HMAC key cannot log on
    await ws.send(signed_ws(binance, "session.logon", {}, "h"))
    assert (await ws.recv())["error"]["code"] == -2015
    await ws.ws.close()


# --- streams -------------------------------------------------------------------------------------------
async def test_diff_depth_chain_matches_rest_depth(binance: BinanceEnv):
    ws = await ws_connect(binance.front.stream_url + "/public/ws/0")
    await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms", "btcusdt@bookTicker"], "id": 1})
    assert await ws.recv() == {"result": None, "id": 1}
    binance.liquidity(Side.SELL, "60000", "0.02")
    _st, snap, _ = await binance.request("GET", "/fapi/v1/depth", {"symbol": BTC, "limit": 1000}, signed=False)
    binance.liquidity(Side.BUY, "59990", "0.01")
    binance.trade("60000", "0.01")
    events: list[Any] = []
    while len(events) < 4:
        m = await ws.recv()
        if m["e"] == "depthUpdate":
            events.append(m)
    last = snap["lastUpdateId"]
    first = next(e for e in events if e["u"] >= last)
    assert first["U"] <= last <= first["u"] or first["pu"] == last
    for a, b in itertools.pairwise(events):
        assert b["pu"] == a["u"], "each event's pu is the previous event's u"
    book = {float(p): q for p, q in snap["asks"]}
    for e in events:
        if e["u"] > last:
            for p, q in e["a"]:
                book[float(p)] = q
    assert {p: q for p, q in book.items() if float(q)} == {60000.0: "0.020"}  # 0.02 + 0.01 sold - 0.01 bought
    assert events[-1]["u"] == binance.venue.engine.markets["BTC-PERP"].book_seq
    await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": "L"})
    r = await ws.until(lambda m: m.get("id") == "L")
    assert r["result"] == ["btcusdt@bookTicker", "btcusdt@depth@100ms"]
    await ws.send({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 2})
    await ws.until(lambda m: m.get("id") == 2)
    await ws.ws.close()


async def test_combined_raw_routed_streams_trades_and_bad_requests(binance: BinanceEnv):
    comb = await ws_connect(binance.front.stream_url + "/stream?streams=btcusdt@trade/btcusdt@aggTrade")
    raw = await ws_connect(binance.front.stream_url + "/market/ws/btcusdt@aggTrade")
    await until(lambda: len(binance.front.hub.conns) == 2)
    binance.trade("60000", "0.01")
    got: dict[str, Any] = {}
    while len(got) < 2:
        m = await comb.recv()
        got[m["stream"]] = m["data"]
    assert got["btcusdt@trade"]["e"] == "trade" and got["btcusdt@trade"]["p"] == "60000.0"
    assert got["btcusdt@trade"]["m"] is False, "the taker bought: the buyer was not the maker"
    agg = await raw.recv()
    assert agg["e"] == "aggTrade" and agg["q"] == "0.010" and agg["a"] == got["btcusdt@trade"]["t"]
    await comb.send({"method": "SUBSCRIBE", "params": ["bad name"], "id": 9})
    r = await comb.until(lambda m: m.get("id") == 9)
    assert r["error"]["code"] == 2
    await comb.send({"method": "NOPE", "id": "n"})
    assert (await comb.until(lambda m: m.get("id") == "n"))["error"]["code"] == 1
    for c in (comb, raw):
        await c.ws.close()


async def test_mark_price_stream(binance: BinanceEnv):
    binance.trade("60000", "0.01")
    ws = await ws_connect(binance.front.stream_url + "/market/stream?streams=btcusdt@markPrice@1s")
    m = await ws.recv(5)
    assert m["stream"] == "btcusdt@markPrice@1s" and m["data"]["e"] == "markPriceUpdate" and m["data"]["p"] == "60000.0"
    await ws.ws.close()


async def test_user_stream_order_and_account_updates(binance: BinanceEnv):
    st, lk, _ = await binance.request("POST", "/fapi/v1/listenKey", signed=False)
    st, again, _ = await binance.request("POST", "/fapi/v1/listenKey", signed=False)
    assert lk == again, "one listenKey per API key"
    ws = await ws_connect(f"{binance.front.stream_url}/private/ws?listenKey={lk['listenKey']}")
    await until(lambda: lk["listenKey"] in binance.front.hub.subs)
    binance.liquidity(Side.SELL, "60000", "0.01")
    st, o, _ = await binance.request("POST", "/fapi/v1/order", limit(price="60000", qty="0.02", newClientOrderId="u1"))
    seen: list[Any] = []
    while len(seen) < 3:
        m = await ws.recv()
        seen.append(m)
    new, trade, acct = seen
    assert (new["e"], new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("ORDER_TRADE_UPDATE", "NEW", "NEW", "u1")
    t = trade["o"]
    assert (t["x"], t["X"], t["l"], t["z"], t["L"], t["m"], t["N"]) == (
        "TRADE",
        "PARTIALLY_FILLED",
        "0.010",
        "0.010",
        "60000.0",
        False,
        "USDC",
    )
    assert t["i"] == o["orderId"] and t["t"] > 0 and t["ps"] == "BOTH" and t["f"] == "GTC"
    assert acct["e"] == "ACCOUNT_UPDATE" and acct["a"]["m"] == "ORDER" and acct["a"]["P"][0]["pa"] == "0.010"
    await binance.request("DELETE", "/fapi/v1/order", {"symbol": BTC, "orderId": o["orderId"]})
    c = await ws.recv()
    assert (c["o"]["x"], c["o"]["X"], c["o"]["z"]) == ("CANCELED", "CANCELED", "0.010")
    st, closed, _ = await binance.request("DELETE", "/fapi/v1/listenKey", signed=False)
    assert closed == {}
    st, err, _ = await binance.request("PUT", "/fapi/v1/listenKey", signed=False)
    assert err["code"] == -1125
    st, err, _ = await binance.request("POST", "/fapi/v1/listenKey", signed=False, api_key=None)
    assert (st, err["code"]) == (401, -2014)
    await ws.ws.close()


async def test_listen_key_expires_with_an_event_then_silence():
    async with running(listen_key_ttl_s=0.3) as env:
        _, lk, _ = await env.request("POST", "/fapi/v1/listenKey", signed=False)
        ws = await ws_connect(f"{env.front.stream_url}/ws/{lk['listenKey']}")
        m = await ws.recv(5)
        assert m == {"e": "listenKeyExpired", "E": m["E"], "listenKey": lk["listenKey"]}
        _, err, _ = await env.request("PUT", "/fapi/v1/listenKey", signed=False)
        assert err["code"] == -1125
        await env.request("POST", "/fapi/v1/order", limit())
        await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert await ws.recv() == {"result": [], "id": 1}, "silence: no ORDER_TRADE_UPDATE came first"
        _st, fresh, _ = await env.request("POST", "/fapi/v1/listenKey", signed=False)
        assert fresh["listenKey"] != lk["listenKey"]
        await ws.ws.close()


async def test_countdown_cancel_all_fires_on_the_venue_clock_and_zero_stops_it(binance: BinanceEnv):
    await binance.request("POST", "/fapi/v1/order", limit(newClientOrderId="k1"))
    _, r, _ = await binance.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": BTC, "countdownTime": 60000})
    assert r == {"symbol": BTC, "countdownTime": "60000"}
    _st, r, _ = await binance.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": BTC, "countdownTime": 0})
    assert not binance.front.countdowns
    await binance.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": BTC, "countdownTime": 50})
    await until(lambda: not binance.venue.open_order_infos(binance.account))
    o = binance.venue.find_order(binance.account, "k1")
    assert o is not None and o.reason == "cancel_all"


async def test_wire_shapes_decode_as_the_shared_structs(binance: BinanceEnv):
    from agenthft.protocol.binance_usdm import wire

    _st, o, _ = await binance.request("POST", "/fapi/v1/order", limit())
    order = msgspec.convert(o, wire.Order)
    assert order.cumQty == "0.000" and order.time is None
