"""Binance's official USDⓈ-M futures SDK (binance-sdk-derivatives-trading-usds-futures 18.1.0),
which nobody here wrote, against the venue's Binance front on loopback: REST, the WebSocket API
and streams. Every call must succeed and agree with the venue's own state (the Venue object).

The SDK's REST client is synchronous (requests): its calls run in a thread so the venue keeps
serving on this loop."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from binance_common.configuration import (
    ConfigurationRestAPI,
    ConfigurationWebSocketAPI,
    ConfigurationWebSocketStreams,
)
from binance_common.errors import BadRequestError, UnauthorizedError
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)

from agenthft.model import OrderStatus, Side

from .binance_env import ED_PEM, BinanceEnv

# binance_common's own use of aiohttp (its WebSocket timeout argument), not ours
pytestmark = pytest.mark.filterwarnings("ignore:parameter 'timeout':DeprecationWarning")
BTC = "BTCUSDT"
LIMIT = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "time_in_force": "GTC", "quantity": "0.01"}


def client(env: BinanceEnv, ed25519: bool = False) -> DerivativesTradingUsdsFutures:
    auth: dict[str, Any] = (
        {"api_key": env.ed.api_key, "private_key": ED_PEM}
        if ed25519
        else {
            "api_key": env.api_key,
            "api_secret": env.secret,
        }
    )
    f = env.front
    return DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(base_path=f.base_url, timeout=5000, retries=0, **auth),
        config_ws_api=ConfigurationWebSocketAPI(stream_url=f.ws_api_url, timeout=5000, **auth),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f.stream_url),
    )


class Calls:
    """Runs the SDK's blocking calls off the loop and counts them."""

    def __init__(self) -> None:
        self.n = 0

    async def __call__(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        self.n += 1
        return await asyncio.to_thread(fn, *args, **kw)


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_sdk_rest_trades_and_agrees_with_the_venue(binance: BinanceEnv):
    binance.liquidity(Side.SELL, "60000", "0.05")
    binance.liquidity(Side.BUY, "59990", "0.05")
    r = client(binance).rest_api
    call = Calls()
    assert (await call(r.test_connectivity)).status == 200
    t = (await call(r.check_server_time)).data().server_time
    assert abs(t - time.time() * 1000) < 60_000
    info = (await call(r.exchange_information)).data()
    btc = next(s for s in info.symbols if s.symbol == BTC)
    assert (btc.filters[0].tick_size, btc.margin_asset, btc.contract_type) == ("0.1", "USDC", "PERPETUAL")
    book = (await call(r.order_book, symbol=BTC, limit=5)).data()
    assert book.last_update_id == binance.venue.engine.markets["BTC-PERP"].book_seq
    assert (book.bids, book.asks) == ([["59990.0", "0.050"]], [["60000.0", "0.050"]])

    resp = await call(
        r.new_order, symbol=BTC, side="BUY", type="LIMIT", time_in_force="GTX", quantity="0.01", price="59000.1",
        new_client_order_id="sdk-1",
    )  # fmt: skip
    new = resp.data()
    assert resp.status == 200 and new.status == "NEW" and new.client_order_id == "sdk-1"
    assert {x.rateLimitType for x in resp.rate_limits} == {"REQUEST_WEIGHT", "ORDERS"}
    info1 = binance.venue.find_order(binance.account, "sdk-1")
    assert info1 is not None and (info1.oid, info1.price, info1.qty) == (new.order_id, 590001, 10)
    q = (await call(r.query_order, symbol=BTC, order_id=new.order_id)).data()
    assert (q.status, q.price, q.time_in_force) == ("NEW", "59000.1", "GTX")
    q = (await call(r.query_current_open_order, symbol=BTC, orig_client_order_id="sdk-1")).data()
    assert q.order_id == new.order_id
    m = (
        await call(r.modify_order, symbol=BTC, side="BUY", quantity="0.02", price="59001", order_id=new.order_id)
    ).data()
    assert (m.order_id, m.price, m.orig_qty) == (new.order_id, "59001.0", "0.020")
    assert (info1.price, info1.qty) == (590010, 20)
    opened = (await call(r.current_all_open_orders, symbol=BTC)).data()
    assert [o.order_id for o in opened] == [new.order_id]
    c = (await call(r.cancel_order, symbol=BTC, orig_client_order_id="sdk-1")).data()
    assert c.status == "CANCELED" and info1.status is OrderStatus.CANCELLED

    taker = (await call(r.new_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.03")).data()
    assert (taker.status, taker.executed_qty) == ("FILLED", "0.030")
    trades = (await call(r.account_trade_list, symbol=BTC, limit=10)).data()
    assert [(t.price, t.qty, t.buyer, t.maker) for t in trades] == [("60000.0", "0.030", True, False)]
    pos = binance.venue.engine.accounts[binance.account].positions["BTC-PERP"]
    p2 = (await call(r.position_information_v2, symbol=BTC)).data()
    p3 = (await call(r.position_information_v3)).data()
    assert p2[0].position_amt == p3[0].position_amt == "0.030" and pos.size == 30
    assert Decimal(p3[0].entry_price) == Decimal("60000")
    total = Decimal(str(binance.venue.balances(binance.account)["USDC"]["total"]))
    for fn in (r.futures_account_balance_v2, r.futures_account_balance_v3):
        rows = (await call(fn)).data()
        assert Decimal(next(b for b in rows if b.asset == "USDC").balance) == total
    for account_fn in (r.account_information_v2, r.account_information_v3):
        acc = (await call(account_fn)).data()
        assert Decimal(acc.total_wallet_balance) == total and acc.positions[0].position_amt == "0.030"
    brackets = (await call(r.notional_and_leverage_brackets, symbol=BTC)).data()
    assert brackets is not None

    for i in range(2):
        await call(r.new_order, symbol=BTC, side="SELL", type="LIMIT", time_in_force="GTC", quantity="0.01",
                   price=str(61000 + i))  # fmt: skip
    cd = (await call(r.auto_cancel_all_open_orders, symbol=BTC, countdown_time=60000)).data()
    assert (cd.symbol, cd.countdown_time) == (BTC, "60000")
    done = (await call(r.cancel_all_open_orders, symbol=BTC)).data()
    assert done.code == 200 and binance.venue.open_order_infos(binance.account) == []
    await call(r.auto_cancel_all_open_orders, symbol=BTC, countdown_time=0)

    lk = (await call(r.start_user_data_stream)).data().listen_key
    assert (await call(r.keepalive_user_data_stream)).data().listen_key == lk
    assert binance.front.hub.by_api_key[binance.api_key].key == lk
    await call(r.close_user_data_stream)
    assert call.n == 27


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        (
            {
                "symbol": BTC,
                "side": "BUY",
                "type": "LIMIT",
                "time_in_force": "GTX",
                "quantity": "0.01",
                "price": "60000",
            },
            -5022,
        ),
        (
            {
                "symbol": BTC,
                "side": "BUY",
                "type": "LIMIT",
                "time_in_force": "GTC",
                "quantity": "0.01",
                "price": "1.05",
            },
            -1111,
        ),
        ({"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": "0.01"}, -1121),
    ],
)
async def test_sdk_sees_binance_errors_as_its_exceptions(binance: BinanceEnv, kw: dict[str, Any], code: int):
    binance.liquidity(Side.SELL, "60000", "0.05")
    r = client(binance).rest_api
    with pytest.raises(BadRequestError) as e:
        await asyncio.to_thread(r.new_order, **kw)
    assert e.value.status_code == code


async def test_sdk_unknown_orders_and_bad_keys(binance: BinanceEnv):
    r = client(binance).rest_api
    with pytest.raises(BadRequestError) as e:
        await asyncio.to_thread(r.cancel_order, symbol=BTC, order_id=999)
    assert e.value.status_code == -2011
    with pytest.raises(BadRequestError) as e:
        await asyncio.to_thread(r.query_order, symbol=BTC, order_id=999)
    assert e.value.status_code == -2013
    wrong = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=binance.api_key, api_secret="not-the-secret", base_path=binance.base_url, retries=0
        )
    )
    with pytest.raises(BadRequestError) as e:
        await asyncio.to_thread(wrong.rest_api.query_order, symbol=BTC, order_id=1)
    assert e.value.status_code == -1022
    bad = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(api_key="nope", api_secret="x", base_path=binance.base_url, retries=0)
    )
    with pytest.raises(UnauthorizedError) as u:
        await asyncio.to_thread(bad.rest_api.account_information_v3)
    assert u.value.status_code == -2015


async def test_sdk_signs_with_ed25519(binance: BinanceEnv):
    r = client(binance, ed25519=True).rest_api
    resp = await Calls()(
        r.new_order, symbol=BTC, side="BUY", type="LIMIT", time_in_force="GTC", quantity="0.01", price="59000",
        new_client_order_id="ed-sdk",
    )  # fmt: skip
    assert resp.data().status == "NEW" and binance.venue.find_order(binance.account, "ed-sdk") is not None


async def test_sdk_websocket_api_round_trip(binance: BinanceEnv):
    for ed25519 in (False, True):
        api = await client(binance, ed25519).websocket_api.create_connection()
        try:
            cid = f"ws-{int(ed25519)}"
            r = await api.new_order(symbol=BTC, side="BUY", type="LIMIT", time_in_force="GTC", quantity="0.01",
                                    price="59000", new_client_order_id=cid)  # fmt: skip
            new = r.data().result
            assert new.status == "NEW" and r.rate_limits and r.rate_limits[0].rateLimitType == "REQUEST_WEIGHT"
            q = (await api.query_order(symbol=BTC, order_id=new.order_id)).data().result
            assert q.client_order_id == cid
            m = (await api.modify_order(symbol=BTC, side="BUY", quantity="0.01", price="59001",
                                        order_id=new.order_id)).data().result  # fmt: skip
            assert m.price == "59001.0" and binance.venue.find_order(binance.account, cid).price == 590010  # type: ignore[union-attr]
            c = (await api.cancel_order(symbol=BTC, order_id=new.order_id)).data().result
            assert c.status == "CANCELED"
            err = (await api.cancel_order(symbol=BTC, order_id=new.order_id)).data()
            assert err["error"]["code"] == -2011
            lk = (await api.start_user_data_stream()).data().result.listen_key
            assert lk == binance.front.hub.by_api_key[binance.ed.api_key if ed25519 else binance.api_key].key
        finally:
            await api.close_connection(close_session=True)


async def test_sdk_streams_depth_trades_book_ticker_mark_price_and_user_data(binance: BinanceEnv):
    sdk = client(binance)
    lk = (await asyncio.to_thread(sdk.rest_api.start_user_data_stream)).data().listen_key
    streams = await sdk.websocket_streams.create_connection()
    got: dict[str, list[Any]] = {"depth": [], "agg": [], "book": [], "mark": [], "user": []}
    try:
        (await streams.diff_book_depth_streams(symbol="btcusdt", update_speed="100ms")).on(
            "message", got["depth"].append
        )
        (await streams.aggregate_trade_streams(symbol="btcusdt")).on("message", got["agg"].append)
        (await streams.individual_symbol_book_ticker_streams(symbol="btcusdt")).on("message", got["book"].append)
        (await streams.mark_price_stream(symbol="btcusdt", update_speed="1s")).on("message", got["mark"].append)
        (await streams.user_data(lk)).on("message", got["user"].append)
        hub = binance.front.hub
        await until(lambda: {"btcusdt@depth@100ms", "btcusdt@aggtrade", "btcusdt@bookticker", lk} <= set(hub.subs))
        binance.liquidity(Side.SELL, "60000", "0.02")
        await Calls()(sdk.rest_api.new_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
        await until(lambda: all(got.values()) and len(got["user"]) >= 3)
        seqs = [(m.U, m.u, m.pu) for m in got["depth"]]
        assert all(b[2] == a[1] for a, b in itertools.pairwise(seqs)), seqs
        assert seqs[-1][1] == binance.venue.engine.markets["BTC-PERP"].book_seq
        assert (got["agg"][0].p, got["agg"][0].q) == ("60000.0", "0.010")
        assert got["book"][-1].a == "60000.0" and got["mark"][-1].p == "60000.0"
        kinds = [type(m.actual_instance).__name__ for m in got["user"]]
        assert kinds == ["OrderTradeUpdate", "OrderTradeUpdate", "AccountUpdate"], kinds  # NEW, TRADE, the fill
        new, trade = got["user"][0].actual_instance.o, got["user"][1].actual_instance.o
        assert (new.x, trade.x, trade.X, trade.l) == ("NEW", "TRADE", "FILLED", "0.010")
    finally:
        await streams.close_connection(close_session=True)
