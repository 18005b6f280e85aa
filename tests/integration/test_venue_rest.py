"""Every REST endpoint of the protocol against the real venue on loopback (aiohttp client)."""

from __future__ import annotations

import pytest

from .conftest import SMALL, Venue, order


async def test_health_needs_no_key_and_carries_rate_limit_headers(venue: Venue):
    status, body, headers = await venue.rest("GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)


async def test_register_gives_a_funded_account_and_never_a_key_to_an_existing_one(venue: Venue):
    a = await venue.register("agent-7")
    status, err, headers = await venue.rest("POST", "/api/v1/register", json={"agent_id": "agent-7"})
    assert status == 409 and err["error"] == "agent_exists" and "api_key" not in err
    assert "X-RateLimit-Remaining" in headers
    status, bal, _ = await venue.rest("GET", "/api/v1/balance", a["api_key"])
    assert status == 200 and bal["balances"]["USDC"]["available"] == 1_000_000
    status, more, _ = await venue.rest("POST", "/api/v1/keys", a["api_key"], json={})
    assert status == 200 and more["api_key"] != a["api_key"], "the owner makes more keys with its key"


@pytest.mark.parametrize("body", [{}, {"agent_id": ""}, {"agent_id": "x", "admin": True}])
async def test_bad_registration_is_400(venue: Venue, body):
    status, err, _ = await venue.rest("POST", "/api/v1/register", json=body)
    assert status == 400 and err["error"] == "bad_request"


async def test_missing_bad_and_x_api_key_authentication(venue: Venue):
    key = (await venue.register("auth"))["api_key"]
    assert (await venue.rest("GET", "/api/v1/balance"))[0] == 401
    assert (await venue.rest("GET", "/api/v1/balance", "ahk_x_y"))[0] == 401
    async with venue.http.get(venue.url + "/api/v1/balance", headers={"X-API-Key": key}) as r:
        assert r.status == 200


async def test_keys_create_list_delete_with_scopes(venue: Venue):
    main = (await venue.register("keys"))["api_key"]
    status, hft, _ = await venue.rest("POST", "/api/v1/keys", main, json={"label": "hft", "scopes": ["read", "trade"]})
    assert status == 200 and hft["api_key"].startswith("ahk_")
    status, ro, _ = await venue.rest("POST", "/api/v1/keys", main, json={"scopes": ["read"]})
    _, keys, _ = await venue.rest("GET", "/api/v1/keys", main)
    assert {k["key_id"] for k in keys} >= {hft["key_id"], ro["key_id"]}
    assert all("api_key" not in k and "digest" not in k for k in keys), "secrets are never listed"
    assert (await venue.rest("POST", "/api/v1/keys", ro["api_key"], json={}))[0] == 403, "read key cannot mint keys"
    assert (await venue.rest("POST", "/api/v1/keys", main, json={"scopes": ["admin"]}))[0] == 400
    assert (await venue.rest("DELETE", f"/api/v1/keys/{hft['key_id']}", main))[0] == 200
    assert (await venue.rest("GET", "/api/v1/balance", hft["api_key"]))[0] == 401
    assert (await venue.rest("DELETE", "/api/v1/keys/nope", main))[0] == 404


async def test_markets_and_book(venue: Venue):
    key = (await venue.register("md"))["api_key"]
    _, markets, _ = await venue.rest("GET", "/api/v1/markets", key)
    perp = next(m for m in markets if m["market"] == "BTC-PERP")
    assert (perp["tick_size"], perp["lot_size"], perp["maker_fee"], perp["kind"]) == (0.1, 0.001, -0.0001, "perp")
    assert perp["min_notional"] == venue.server.venue.min_notional("BTC-PERP")  # the port reads it onto the instrument
    c = await venue.connect(key)
    await c.send(order("b1", price="59999.9"))
    await c.expect("order_ack")
    status, book, _ = await venue.rest("GET", "/api/v1/book/BTC-PERP?depth=5", key)
    assert status == 200 and book["bids"] == [[59999.9, 0.01]] and book["seq"] == 1
    assert (await venue.rest("GET", "/api/v1/book/NOPE", key))[0] == 404
    assert (await venue.rest("GET", "/api/v1/book/BTC-PERP?depth=x", key))[0] == 400


async def test_rest_orders_fill_positions_fills_and_cancel(venue: Venue):
    maker = (await venue.register("rmaker"))["api_key"]
    taker = (await venue.register("rtaker"))["api_key"]
    status, res, _ = await venue.rest(
        "POST",
        "/trading/orders",
        maker,
        json={"market": "BTC-PERP", "side": "sell", "type": "limit", "qty": 0.01, "price": 60000, "client_id": "m1"},
    )
    assert status == 200 and (res["status"], res["filled_qty"]) == ("open", 0.0)
    status, res, _ = await venue.rest(
        "POST",
        "/trading/orders",
        taker,
        json={"market": "BTC-PERP", "side": "buy", "type": "market", "qty_usd": 300, "client_id": "t1"},
    )
    assert status == 200 and (res["status"], res["filled_qty"], res["fill_price"]) == ("filled", 0.005, 60000.0)
    _, pos, _ = await venue.rest("GET", "/api/v1/positions", taker)
    assert pos["positions"][0]["size"] == 0.005 and pos["positions"][0]["avg_price"] == 60000.0
    _, fills, _ = await venue.rest("GET", "/api/v1/fills?since_ns=0", taker)
    assert [(f["order_id"], f["fill_qty"], f["liquidity"]) for f in fills] == [("t1", 0.005, "taker")]
    _, later, _ = await venue.rest("GET", f"/api/v1/fills?since_ns={fills[0]['ts_ns'] + 1}", taker)
    assert later == []
    status, res, _ = await venue.rest("DELETE", "/trading/orders/m1", maker)
    assert status == 200 and res["remaining_qty"] == 0.005
    assert (await venue.rest("DELETE", "/trading/orders/m1", maker))[0] == 404
    _, closed, _ = await venue.rest("GET", "/api/v1/orders?status=closed", maker)
    assert [(o["order_id"], o["status"], o["filled_qty"]) for o in closed] == [("m1", "cancelled", 0.005)]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"market": "BTC-PERP", "side": "buy", "qty": 1000, "price": 60000}, 402, "insufficient_balance"),
        ({"market": "BTC-PERP", "side": "buy", "qty": 0.01, "price": 60000.05}, 400, "bad_price"),
        ({"market": "BTC-PERP", "side": "buy", "qty": 0.0001, "price": 60000}, 400, "bad_qty"),
        ({"market": "NOPE", "side": "buy", "qty": 1, "price": 1}, 404, "unknown_market"),
        ({"market": "BTC-PERP", "side": "buy", "type": "market", "qty": 0.01}, 400, "no_liquidity"),
        ({"market": "BTC-PERP", "side": "buy", "type": "stop", "qty": 0.01}, 400, "bad_request"),
        ({"market": "BTC-PERP", "side": "buy", "price": 1}, 400, "bad_request"),
        ({"market": "BTC-PERP", "side": "sideways", "qty": 1, "price": 1}, 400, "bad_request"),
    ],
)
async def test_rest_order_rejections_have_specific_codes(venue: Venue, body, status, code):
    key = (await venue.register("rej"))["api_key"]
    got, err, _ = await venue.rest("POST", "/trading/orders", key, json={**body, "client_id": "x1"})
    assert (got, err["error"]) == (status, code), err
    _, orders, _ = await venue.rest("GET", "/api/v1/orders", key)
    assert orders == []


async def test_rest_rate_limit_is_429_with_retry_after(venue: Venue):
    key = (await venue.register("spam"))["api_key"]
    statuses = []
    for _ in range(SMALL.rest_burst + 5):
        status, _, headers = await venue.rest("GET", "/api/v1/balance", key)
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            assert headers["X-RateLimit-Remaining"] == "0"
    assert statuses.count(200) <= SMALL.rest_burst + 1 and 429 in statuses


async def test_order_status_query_validates(venue: Venue):
    key = (await venue.register("q"))["api_key"]
    assert (await venue.rest("GET", "/api/v1/orders?status=weird", key))[0] == 400
    assert (await venue.rest("GET", "/api/v1/fills?since_ns=abc", key))[0] == 400
