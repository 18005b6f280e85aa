"""The Hyperliquid connector's pure parts, on Hyperliquid's documented shapes: instruments from
meta/spotMeta on grids, our ids as cloids and back, the account's events, funding, the
reconciliation answers, the endpoints and the credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenthft.connectors.credentials import CredentialError
from agenthft.connectors.hyperliquid import credentials, endpoints, round_price, translate
from agenthft.connectors.port import Ack, Done, Funding, OrderRequest, Rejected
from agenthft.model import Liquidity, OrderType, Side
from agenthft.model.money import cash

# the docs' meta and spotMeta examples (shortened)
META = {
    "universe": [
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 50},
        {"name": "HPOS", "szDecimals": 0, "maxLeverage": 3, "onlyIsolated": True},
        {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
    ]
}
SPOT_META = {
    "tokens": [
        {"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0},
        {"name": "PURR", "szDecimals": 0, "weiDecimals": 5, "index": 1},
        {"name": "HYPE", "szDecimals": 2, "weiDecimals": 8, "index": 150},
    ],
    "universe": [
        {"name": "PURR/USDC", "tokens": [1, 0], "index": 0, "isCanonical": True},
        {"name": "@107", "tokens": [150, 0], "index": 107, "isCanonical": False},
    ],
}
FEES = {"userAddRate": "0.0001", "userCrossRate": "0.00035", "userSpotAddRate": "0.0004", "userSpotCrossRate": "0.0007"}


def markets() -> dict[str, translate.Market]:
    return {m.coin: m for m in translate.markets(META, SPOT_META, FEES)}


def test_instruments_on_grids_from_sz_decimals_with_the_accounts_fees():
    m = markets()
    assert list(m) == ["BTC", "ETH", "HPOS", "PURR/USDC", "@107"], "the delisted perp is left out"
    btc, eth, purr, hype = m["BTC"], m["ETH"], m["PURR/USDC"], m["@107"]
    assert (btc.asset, btc.inst.tick_size, btc.inst.lot_size, btc.max_leverage) == (0, "0.1", "0.00001", 50)
    assert (eth.inst.tick_size, eth.inst.lot_size) == ("0.01", "0.0001")
    assert (m["HPOS"].inst.tick_size, m["HPOS"].inst.lot_size) == ("0.000001", "1")
    assert (purr.asset, purr.spot, purr.inst.tick_size, purr.inst.lot_size) == (10000, True, "0.00000001", "1")
    assert (hype.asset, hype.inst.base, hype.inst.quote, hype.inst.tick_size) == (10107, "HYPE", "USDC", "0.000001")
    assert hype.inst.aliases == ("HYPE-USDC", "HYPE/USDC")
    assert (btc.inst.maker_fee, btc.inst.taker_fee, hype.inst.taker_fee) == ("0.0001", "0.00035", "0.0007")
    assert btc.inst.aliases == ("BTC-PERP", "BTC/USDC:USDC") and btc.inst.settle_asset == "USDC"
    assert btc.inst.min_notional == hype.inst.min_notional == "10", "Hyperliquid's documented minimum order value"
    no_fees = {x.coin: x for x in translate.markets(META, None)}
    assert (no_fees["BTC"].inst.maker_fee, no_fees["BTC"].inst.taker_fee) == translate.PERP_FEES


def test_prices_the_rule_refuses_never_leave_and_round_price_offers_the_nearest():
    btc = markets()["BTC"]
    ok = OrderRequest("a1", "BTC", Side.BUY, 100, 600_100, OrderType.POST_ONLY)
    assert translate.check(ok, btc) is None
    bad = OrderRequest("a2", "BTC", Side.BUY, 100, 600_105, OrderType.LIMIT)  # 60010.5: 6 figures
    code, reason = translate.check(bad, btc) or ("", "")
    assert code == "bad_price" and "60010" in reason and "round_price" in reason
    assert translate.check(OrderRequest("a3", "BTC", Side.BUY, 100, None, OrderType.MARKET), btc) == (
        "bad_request",
        "Hyperliquid has no market orders: give the worst price (sent as an IOC limit)",
    )
    assert round_price(btc.inst, 600_105, "up") == 600_110 and round_price(btc.inst, 600_105, "down") == 600_100
    assert translate.round_price(btc, 1_234_567, "nearest") == 1_234_570  # 123456.7 -> 123457 (whole)


def test_an_order_as_hyperliquids_wire_in_the_sdks_key_order():
    eth = markets()["ETH"]
    req = OrderRequest("a1-7", "ETH", Side.SELL, 25, 300_010, OrderType.POST_ONLY, reduce_only=True)
    w = translate.order_wire(req, eth, translate.cloid_of("a1-7"))
    assert w == {
        "a": 1,
        "b": False,
        "p": "3000.1",
        "s": "0.0025",
        "r": True,
        "t": {"limit": {"tif": "Alo"}},
        "c": translate.cloid_of("a1-7"),
    }
    assert list(w) == ["a", "b", "p", "s", "r", "t", "c"]
    ioc = OrderRequest("a1-8", "ETH", Side.BUY, 25, 300_010, OrderType.MARKET)
    assert translate.order_wire(ioc, eth, "0x" + "00" * 16)["t"] == {"limit": {"tif": "Ioc"}}


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=20))
def test_every_oms_style_id_packs_into_a_cloid_and_comes_back(order_id: str):
    cloid = translate.cloid_of(order_id)
    assert len(cloid) == 34 and cloid.startswith("0x")
    assert translate.order_id_of(cloid) == order_id


def test_other_ids_hash_and_foreign_cloids_stay_foreign():
    long = "a" * 21
    assert translate.order_id_of(translate.cloid_of(long)) is None
    assert translate.cloid_of(long) == translate.cloid_of(long), "deterministic"
    assert translate.cloid_of("o/1") != translate.cloid_of("o_1")
    assert translate.order_id_of("0x00000000000000000000000000000007") is None, "the SDK's cloid: not ours"
    assert translate.order_id_of("not a cloid") is None
    assert translate.cloid_of("a18c9f2e4b-12").startswith("0x8d")  # 0x80 + 13 characters


def test_order_updates_as_order_events():
    btc = markets()["BTC"]
    order = {"coin": "BTC", "side": "B", "limitPx": "60000", "sz": "0.003", "oid": 77, "timestamp": 5, "origSz": "0.01"}
    assert translate.order_event({"order": order, "status": "open", "statusTimestamp": 9}, btc, "a1") == Ack(
        "a1", 77, 9_000_000
    )
    assert translate.order_event({"order": order, "status": "canceled", "statusTimestamp": 9}, btc, "a1") == Done(
        "a1", "cancelled", 300, 9_000_000
    )
    done = translate.order_event({"order": order, "status": "scheduledCancel"}, btc, "a1")
    assert isinstance(done, Done) and done.reason == "scheduled_cancel"
    rejected = translate.order_event({"order": order, "status": "badAloPxRejected"}, btc, "a1")
    assert isinstance(rejected, Rejected) and rejected.code == "post_only_would_cross"
    ioc = translate.order_event({"order": order, "status": "iocCancelRejected"}, btc, "a1")
    assert isinstance(ioc, Rejected) and ioc.code == "ioc_not_filled"
    assert translate.order_event({"order": order, "status": "filled"}, btc, "a1") is None


def test_a_user_fill_and_a_funding_payment_on_the_grid():
    btc = markets()["BTC"]
    f = {
        "closedPnl": "0.0",
        "coin": "BTC",
        "crossed": False,
        "dir": "Open Long",
        "hash": "0x1",
        "oid": 90542681,
        "px": "60000.5",
        "side": "B",
        "startPosition": "0",
        "sz": "0.0125",
        "time": 1681222254710,
        "fee": "-0.0075",
        "feeToken": "USDC",
        "tid": 118906512037719,
    }
    ev = translate.filled(f, btc, "a1", 0)
    assert ev.liquidity is Liquidity.MAKER and ev.remaining == 0
    fill = ev.fill
    assert (fill.fill_id, fill.qty, fill.price, fill.fee, fill.side) == (
        118906512037719,
        1250,
        600_005,
        cash("-0.0075"),
        Side.BUY,
    )
    funding = {"time": 1700000000000, "coin": "BTC", "usdc": "-3.625312", "szi": "0.5", "fundingRate": "0.0000125"}
    assert translate.funding_event(funding, btc) == Funding(
        "BTC", cash("3.625312"), 12_500_000, 0, 50_000, "USDC", 1700000000000 * 1_000_000
    )


def test_reconciliation_answers():
    m = markets()
    o = {"coin": "ETH", "side": "A", "limitPx": "3000.1", "sz": "0.5", "oid": 3, "timestamp": 1, "origSz": "1.25"}
    vo = translate.venue_order(o, m["ETH"], "a1")
    assert (vo.side, vo.price, vo.qty, vo.filled) == (Side.SELL, 300_010, 12_500, 7_500)
    state = {
        "assetPositions": [{"position": {"coin": "ETH", "szi": "-0.0335"}, "type": "oneWay"}],
        "marginSummary": {"accountValue": "13104.514502"},
    }
    assert translate.positions(state, m) == {"ETH": -335}
    spot = {"balances": [{"coin": "USDC", "total": "10"}, {"coin": "HYPE", "total": "2.5"}]}
    assert translate.balances(state, spot) == {"USDC": cash("13114.514502"), "HYPE": cash("2.5")}
    lim = translate.limits({"cumVlm": "100", "nRequestsUsed": 7, "nRequestsCap": 10100})
    assert (lim.orders_per_s, lim.requests_per_min) == (10.0, 1200)
    assert lim.raw["address_budget"]["nRequestsCap"] == 10100


def test_endpoints_sign_as_mainnet_only_on_mainnet():
    main, test, local = endpoints("hyperliquid"), endpoints("hyperliquid-testnet"), endpoints("hyperliquid@http://h:1/")
    assert (main.rest, main.ws, main.mainnet) == ("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws", True)
    assert (test.rest, test.mainnet) == ("https://api.hyperliquid-testnet.xyz", False)
    assert (local.rest, local.ws, local.mainnet) == ("http://h:1", "ws://h:1/ws", False)
    with pytest.raises(ValueError):
        endpoints("hyperliquid@ftp://x")


def test_credentials_from_the_environment_or_a_private_file(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("HYPERLIQUID_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("HYPERLIQUID_ACCOUNT_ADDRESS", raising=False)
    assert credentials() == (None, "")
    monkeypatch.setenv("HYPERLIQUID_PRIVATE_KEY", "0x" + "01" * 32)
    wallet, account = credentials()
    assert wallet is not None and account == wallet.address, "the key's own account"
    monkeypatch.setenv("HYPERLIQUID_ACCOUNT_ADDRESS", "0x14791697260e4c9a71f18484c9f997b308e59325")
    assert credentials()[1] == "0x14791697260E4c9A71f18484C9f997B308e59325", "an agent's master, checksummed"
    monkeypatch.setenv("HYPERLIQUID_PRIVATE_KEY", "nope")
    with pytest.raises(CredentialError, match="HYPERLIQUID_PRIVATE_KEY"):
        credentials()
    f = tmp_path / "hl.toml"
    f.write_text(f'private_key = "0x{"02" * 32}"\n')
    f.chmod(0o644)
    with pytest.raises(CredentialError, match="chmod 600"):
        credentials(f)
    f.chmod(0o600)
    wallet, _ = credentials(f)
    assert wallet is not None and "02" * 32 not in repr(wallet)
