"""protocol/hyperliquid: the official SDK's signing test vectors (hyperliquid-python-sdk,
`tests/signing_test.py`, msgpack era) reproduced by our signing code, verbatim; signer recovery
on both networks; the price rule as a grid; the error texts' map to our reject codes."""

from __future__ import annotations

import pytest

from agenthft.model import GridError
from agenthft.model.rejects import RejectCode
from agenthft.protocol.hyperliquid import errors, rules, signing, wire

KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ADDRESS = "0x14791697260E4c9A71f18484C9f997B308e59325"
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
W = signing.Wallet(KEY)
DUMMY = {"type": "dummy", "num": signing.int_for_hashing(1000)}
ORDER_100 = wire.order_action([wire.order_wire(1, True, "100", "100", False, "Gtc")])


def sig(r: str, s: str, v: int) -> dict[str, object]:
    return {"r": r, "s": s, "v": v}


Sig = dict[str, object]


def both(action: object, nonce: int = 0, vault: str | None = None, expires: int | None = None) -> tuple[Sig, Sig]:
    return (
        W.sign_l1(action, nonce, True, vault, expires),
        W.sign_l1(action, nonce, False, vault, expires),
    )


def test_the_wallet_of_the_vectors_key():
    assert W.address == ADDRESS
    assert "0123" not in repr(W)


def test_phantom_agent_creation_matches_production():
    action = wire.order_action([wire.order_wire(4, True, "1670.1", "0.0147", False, "Ioc")])
    assert action == {
        "type": "order",
        "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Ioc"}}}],
        "grouping": "na",
    }
    h = signing.action_hash(action, None, 1677777606040, None)
    assert "0x" + h.hex() == "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"


def test_l1_action_signing_matches():
    assert both(DUMMY) == (
        sig(
            "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
            "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8",
            27,
        ),
        sig(
            "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
            "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613",
            28,
        ),
    )


def test_l1_action_signing_order_matches():
    assert ORDER_100 == {
        "type": "order",
        "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
        "grouping": "na",
    }
    assert both(ORDER_100) == (
        sig(
            "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
            "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
            28,
        ),
        sig(
            "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
            "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
            27,
        ),
    )


def test_l1_action_signing_order_with_cloid_matches():
    action = wire.order_action(
        [wire.order_wire(1, True, "100", "100", False, "Gtc", "0x00000000000000000000000000000001")]
    )
    assert list(action["orders"][0]) == ["a", "b", "p", "s", "r", "t", "c"]
    assert both(action) == (
        sig(
            "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
            "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da",
            27,
        ),
        sig(
            "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
            "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988",
            28,
        ),
    )


def test_l1_action_signing_matches_with_vault():
    assert both(DUMMY, vault=VAULT) == (
        sig(
            "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
            "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c",
            28,
        ),
        sig(
            "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
            "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60",
            27,
        ),
    )


def test_l1_action_signing_tpsl_order_matches():
    order = {"a": 1, "b": True, "p": "100", "s": "100", "r": False}
    order["t"] = {"trigger": {"isMarket": True, "triggerPx": "103", "tpsl": "sl"}}
    assert both(wire.order_action([order])) == (
        sig(
            "0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9",
            "0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405",
            27,
        ),
        sig(
            "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
            "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac",
            28,
        ),
    )


def test_float_to_int_for_hashing():
    assert signing.int_for_hashing(123123123123) == 12312312312300000000
    assert signing.int_for_hashing(0.00001231) == 1231
    assert signing.int_for_hashing(1.033) == 103300000
    with pytest.raises(GridError):
        signing.int_for_hashing(0.000012312312)


def test_sign_usd_transfer_action():
    message = {
        "type": "usdSend",
        "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
        "amount": "1",
        "time": 1687816341423,
    }
    assert W.sign_user(message, False) == sig(
        "0x637b37dd731507cdd24f46532ca8ba6eec616952c56218baeff04144e4a77073",
        "0x11a6a24900e6e314136d2592e2f8d502cd89b7c15b198e1bee043c9589f9fad7",
        27,
    )


def test_sign_withdraw_from_bridge_action():
    message = {
        "type": "withdraw3",
        "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
        "amount": "1",
        "time": 1687816341423,
    }
    assert W.sign_user(message, False) == sig(
        "0x8363524c799e90ce9bc41022f7c39b4e9bdba786e5f9c72b20e43e1462c37cf9",
        "0x58b1411a775938b83e29182e8ef74975f9054c8e97ebf5ec2dc8d51bfc893881",
        28,
    )


def test_create_sub_account_action():
    assert both({"type": "createSubAccount", "name": "example"}) == (
        sig(
            "0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
            "0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423",
            27,
        ),
        sig(
            "0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
            "0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584",
            28,
        ),
    )


def test_sub_account_transfer_action():
    action = {
        "type": "subAccountTransfer",
        "subAccountUser": "0x1d9470d4b963f552e6f671a81619d395877bf409",
        "isDeposit": True,
        "usd": 10,
    }
    assert both(action) == (
        sig(
            "0x43592d7c6c7d816ece2e206f174be61249d651944932b13343f4d13f306ae602",
            "0x71a926cb5c9a7c01c3359ec4c4c34c16ff8107d610994d4de0e6430e5cc0f4c9",
            28,
        ),
        sig(
            "0xe26574013395ad55ee2f4e0575310f003c5bb3351b5425482e2969fa51543927",
            "0xefb08999196366871f919fd0e138b3a7f30ee33e678df7cfaf203e25f0a4278",
            28,
        ),
    )


def test_schedule_cancel_action():
    assert both(wire.schedule_cancel_action(None)) == (
        sig(
            "0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
            "0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0",
            27,
        ),
        sig(
            "0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
            "0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df",
            28,
        ),
    )
    assert both(wire.schedule_cancel_action(123456789)) == (
        sig(
            "0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
            "0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b",
            28,
        ),
        sig(
            "0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
            "0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678",
            27,
        ),
    )


def test_a_third_party_vector_and_the_actions_the_connector_sends():
    other = signing.Wallet("0xe908f86dbb4d55ac876378565aafeabc187f6690f046459397b17d9b9a19688e")
    assert other.address == "0xcD49bbAc6E85fdEB167EB7cA41A945d2b8758F6F"
    action = wire.order_action([wire.order_wire(1, True, "1800", "0.02", False, "Gtc")])
    h = signing.action_hash(action, None, 1690393044548, None)
    assert "0x" + h.hex() == "0xb8ed9e5a4ea7b2aebdb09fd794221c2599487f6dc8d3bf8f38656ab295f36120"
    assert other.sign_l1(action, 1690393044548, True) == sig(
        "0x380b70e9e76181609c7d9f2ece74cf7717a0254f9d751137ffaedff685e81cc7",
        "0x27c1e43069db58d728e996b91112aff57a24f3d9221635adc053f20aa4283ad8",
        27,
    )
    # generated with SDK 0.24.0 (notes §5.5): the other actions our connector sends
    n = 1700000000000
    assert W.sign_l1(wire.cancel_action([(1, 123456789)]), n, True) == sig(
        "0x921c4ea675ba8c76d384a63acf2adb50aab08a9b44269c8aed1cd03917fcd40",
        "0x417d3845b5f3d95d60fea4ab67207a3bf281de88ae89b8ccf72af029163a8c6a",
        27,
    )
    by_cloid = wire.cancel_by_cloid_action([(1, "0x0000000000000000000000000000002a")])
    assert W.sign_l1(by_cloid, n, False) == sig(
        "0x74384a6ea2295feb9b7a19e2a6c0c29ba0fbeae71fda8e3b7fd8b5261350e616",
        "0x7d4f25d85f459014a285341b43e562ece7ec7d9224317ee802ed2c4d496d09c4",
        28,
    )
    modify = wire.batch_modify_action([(123456789, wire.order_wire(1, True, "3001", "0.02", False, "Alo"))])
    assert W.sign_l1(modify, n, True) == sig(
        "0x784b9c93d44a7ec7ee3bf36787f1fa055955ce0c175e28d9f5d59134826e9c50",
        "0x58cb3d82c0093d9ae32b618c201fa98e2cf7dc81b5f4f7e3253612bf85d5cc5d",
        27,
    )
    alo = wire.order_action(
        [wire.order_wire(0, False, "100000", "0.001", True, "Alo", "0x00000000000000000000000000000001")]
    )
    assert W.sign_l1(alo, n, False, expires_after=1700000060000) == sig(
        "0x83aececa688be3c4da9f30b81590b9e3ccbeaefacc075ea142a80ae1a9ab8909",
        "0x7c7881b576c3e60738341560fcf669f140ed0bb836bcff6b7d30437fc8bbe758",
        27,
    )
    assert W.sign_l1(alo, n, True, vault_address=VAULT) == sig(
        "0xacd4cbbb63b9a65f7030e762c123963846e0ed8a3cd662fd4f300f53fc896c66",
        "0x645ac34a3a9fd8c14aaac2d2895b89934a152c352ca590dfc8bed34e24ea25d5",
        28,
    )


def test_approve_agent_with_and_without_a_name():
    def approve(name: str | None, mainnet: bool) -> dict[str, object]:
        action: dict[str, object] = {
            "type": "approveAgent",
            "agentAddress": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
            "agentName": name if name is not None else "",
            "nonce": 1700000000000,
        }
        return W.sign_user(action, mainnet)

    assert approve(None, True) == sig(
        "0x39b38d050a63b34e54a8ec5a82a8312729dc8e367f11271054e69017af9e1dd1",
        "0x5c4a5676db9655d570d6ad57fad9bb410534790522092f070fc4a56a2786eba7",
        28,
    )
    assert approve("bot1", False) == sig(
        "0xddacf7c2b2716413ab1a5f1ed7d2e12ddcf081c3f893e1aa5e09de10bf70d43e",
        "0x779ef777d5f0ba3f9e224b3212cb6878b9767bf84e239ba0149c9e0a510acca5",
        27,
    )


def test_a_server_recovers_the_signer_only_on_the_network_it_was_signed_for():
    testnet = W.sign_l1(ORDER_100, 5, False)
    assert signing.recover_l1(ORDER_100, testnet, 5, False) == ADDRESS
    assert signing.recover_l1(ORDER_100, testnet, 5, True) != ADDRESS  # another address, not an error
    assert signing.recover_l1(ORDER_100, testnet, 6, False) != ADDRESS  # the nonce is signed
    reordered = {"grouping": "na", "type": "order", "orders": ORDER_100["orders"]}
    assert signing.recover_l1(reordered, testnet, 5, False) != ADDRESS  # so is the key order
    with pytest.raises(signing.BadSignature):
        signing.recover_l1(ORDER_100, {"r": "0x1", "s": "zz", "v": 27}, 5, False)


def test_a_user_signed_action_recovers_from_its_own_chain_fields_and_a_dropped_agent_name():
    action = {"type": "approveAgent", "agentAddress": ADDRESS, "agentName": "", "nonce": 7}
    s = W.sign_user(action, False)
    del action["agentName"]  # the SDK signs "" and drops the key before posting
    assert signing.recover_user(action, s) == ADDRESS
    assert signing.user_nonce(action) == 7
    action["hyperliquidChain"] = "Mainnet"
    assert signing.recover_user(action, s) != ADDRESS


@pytest.mark.parametrize(
    ("ticks", "decimals", "ok"),
    [
        (350010, 2, True),  # 3500.10: 5 figures
        (350012, 2, False),  # 3500.12: 6 figures
        (12345600, 2, True),  # 123456: a whole number is always valid
        (1234, 6, True),  # 0.001234
        (12345, 6, True),  # 0.012345 (szDecimals 0)
        (123456, 6, False),  # 0.123456
        (0, 2, False),
    ],
)
def test_the_significant_figures_rule_on_the_tick_grid(ticks: int, decimals: int, ok: bool):
    assert rules.price_ok(ticks, decimals) is ok


def test_round_price_goes_the_way_asked_and_lands_on_a_valid_price():
    assert rules.round_price(350012, 2, "down") == 350010
    assert rules.round_price(350012, 2, "up") == 350020
    assert rules.round_price(350015, 2, "nearest") == 350020
    assert rules.round_price(999995, 1, "up") == 1000000  # 100000.0: a whole number
    assert rules.round_price(12345678, 1, "down") == 12345670  # 1234567.8 -> 1234567 (whole: valid)
    for t in range(1, 200_000, 37):
        for how in ("down", "up", "nearest"):
            r = rules.round_price(t, 3, how)
            assert rules.price_ok(r, 3)
            assert (r <= t) if how == "down" else (r >= t) if how == "up" else True


def test_grids_from_sz_decimals_and_the_servers_text_check():
    assert (rules.tick_size(5), rules.lot_size(5)) == ("0.1", "0.00001")  # BTC
    assert (rules.tick_size(4), rules.tick_size(0, spot=True)) == ("0.01", "0.00000001")
    assert rules.sz_decimals_of("0.001") == 3 and rules.sz_decimals_of("1") == 0 and rules.sz_decimals_of("0.02") == 2
    assert rules.price_text_ok("1234.5", 0) and not rules.price_text_ok("1234.56", 0)
    assert rules.price_text_ok("0.001234", 0) and not rules.price_text_ok("0.0012345", 0)
    assert rules.price_text_ok("0.01234", 1) and not rules.price_text_ok("0.012345", 1)
    assert rules.price_text_ok("123456", 5) and not rules.price_text_ok("12345.6", 1)
    assert not rules.price_text_ok("-1", 0) and not rules.price_text_ok("nan", 0)
    assert rules.size_decimals_ok("0.001", 3) and not rules.size_decimals_ok("0.0001", 3)


def test_every_error_text_reads_back_as_its_code():
    for code, err in errors.ERRORS.items():
        assert errors.reject_code(errors.text_of(code, "x", "y")) == code.value, err
    assert errors.reject_code(errors.IOC_NOT_FILLED_TEXT) == "ioc_not_filled"
    assert errors.reject_code("Order must have minimum value of $10.") == RejectCode.MIN_NOTIONAL
    assert errors.reject_code("Post only order would have immediately matched, bbo was 1@2.") == "post_only_would_cross"
    assert errors.reject_code("Insufficient margin to place order. asset=4") == "insufficient_balance"
    assert errors.reject_code("Price must be divisible by tick size.") == "bad_price"
    assert errors.reject_code("something new") == "venue_error"
    assert errors.status_of("post_only_would_cross") == "badAloPxRejected"
    assert errors.status_of(errors.IOC_NOT_FILLED) == "iocCancelRejected"


def test_the_l1_message_from_constants_is_eth_accounts_typed_data_encoding():
    from eth_account.messages import encode_typed_data

    for mainnet in (True, False):
        for h in (bytes(32), bytes(range(32)), signing.action_hash(ORDER_100, None, 7, None)):
            assert signing.l1_message(h, mainnet) == encode_typed_data(full_message=signing.l1_typed_data(h, mainnet))


def test_the_docs_error_table_is_generated_from_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "venues" / "hyperliquid.md").read_text()
    table = doc.split("<!-- errors:begin -->\n", 1)[1].split("<!-- errors:end -->", 1)[0]
    assert table == errors.errors_markdown(), "regenerate docs/venues/hyperliquid.md's table from errors_markdown()"
