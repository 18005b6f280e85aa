from typing import Any

import msgspec
import pytest

from agenthft.model import GridError, Instrument, InstrumentKind, Side, find_instrument


def perp(**kw: Any) -> Instrument:
    base: dict[str, Any] = dict(
        tick_size="0.5", lot_size="0.001", maker_fee="-0.0001", taker_fee="0.0004", aliases=("BTCUSDT",)
    )
    base.update(kw)
    return Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, **base)


def test_prices_convert_to_ticks_of_a_non_decimal_tick():
    inst = perp()
    assert inst.price_to_ticks("100.5") == 201
    assert inst.price_to_ticks(100) == 200
    assert inst.ticks_to_price(201) == "100.5"


def test_off_grid_price_is_rejected_not_rounded():
    with pytest.raises(GridError) as e:
        perp().price_to_ticks("100.25")
    assert e.value.code == "bad_price"
    assert "100.25" in str(e.value)


def test_off_grid_quantity_is_rejected_not_rounded():
    with pytest.raises(GridError) as e:
        perp().qty_to_lots("0.0015")
    assert e.value.code == "bad_qty"
    assert perp().qty_to_lots("0.002") == 2


def test_negative_maker_fee_is_a_rebate_in_parts_per_1e8():
    inst = perp()
    assert inst.fee_ppb(maker=True) == -10_000
    assert inst.fee_ppb(maker=False) == 40_000


@pytest.mark.parametrize("field", ["tick_size", "lot_size"])
@pytest.mark.parametrize("bad", ["0", "-1"])
def test_grid_must_be_positive(field, bad):
    with pytest.raises(ValueError, match=field):
        perp(**{field: bad})


def test_fee_must_be_a_fraction():
    with pytest.raises(ValueError, match="taker_fee"):
        perp(taker_fee="1.5")


def test_aliases_map_symbols_across_venues():
    inst = perp()
    assert find_instrument([inst], "BTCUSDT") is inst
    assert find_instrument([inst], "BTC-PERP") is inst
    assert find_instrument([inst], "ETH-PERP") is None


def test_config_decoding_reports_unknown_fields():
    with pytest.raises(msgspec.ValidationError, match="tick"):
        msgspec.json.decode(
            b'{"market":"X","base":"A","quote":"B","kind":"spot","tick_size":"1","lot_size":"1","tick":"1"}',
            type=Instrument,
        )


def test_side_sign_and_opposite():
    assert Side.BUY.sign == 1 and Side.SELL.sign == -1
    assert Side.BUY.opposite is Side.SELL
