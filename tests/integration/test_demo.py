from agenthft.demo import venue_session


async def test_demo_venue_session_trades_and_reports():
    res = await venue_session(n=50)
    assert res["orders"] == 50 and res["fills"] == 20
    assert res["taker_fees"] > 0 and res["maker_rebates"] < 0
    (pos,) = res["positions"]
    assert (pos["market"], pos["size"]) == ("BTC-PERP", 0.2)
    assert pos["avg_price"] == 60009.5  # the mean of 60000..60019
    assert 0 < res["ack_us"][50] <= res["ack_us"][99]
