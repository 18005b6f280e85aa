from agenthft.demo import venue_session


async def test_demo_venue_session_trades_and_reports():
    res = await venue_session(n=50)
    assert res["orders"] == 50 and res["fills"] == 20
    assert res["taker_fees"] > 0 and res["maker_rebates"] < 0
    (pos,) = res["positions"]
    assert (pos["market"], pos["size"]) == ("BTC-PERP", 0.2)
    assert pos["avg_price"] == 60009.5  # the mean of 60000..60019
    assert 0 < res["ack_us"][50] <= res["ack_us"][99]


async def test_demo_agent_session_survives_a_drop_and_matches_the_venue():
    from agenthft.demo import agent_session

    res = await agent_session(rounds=6)
    assert res["journal_matches_venue"] and res["venue_fills"] >= 1
    s = res["summary"]
    assert s["reconnects"] == 1 and len(s["reconciles"]) >= 2
    assert s["telemetry"]["tick_to_trade"]["max_us"] < 1_000_000, "no order timed across the reconnect gap"


async def test_demo_supervised_session_trades_under_the_dashboard_and_writes_a_report(tmp_path):
    import io

    from rich.console import Console

    from agenthft.demo import supervised_session

    screen = io.StringIO()
    res = await supervised_session(4, tmp_path, Console(file=screen, force_terminal=False))
    s = res["summary"]
    assert s["fill_ids"] and s["open_orders"] == [] and s["risk_state"] == "active"
    assert "agenthft: position" in screen.getvalue()  # the plain lines, not a TTY
    page = (tmp_path / "report.html").read_text()
    assert page.count('<figure class="plot"') >= 6 and "live:" in page
