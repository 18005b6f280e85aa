import os
import subprocess
import sys
from pathlib import Path

import pytest

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


async def test_demo_desk_every_strategy_live_supervised_over_mcp_with_reports(tmp_path, capfd):
    """Every shipped strategy live at once on two venues (a child venue process with the desk
    market), the dashboard's plain lines (not a TTY), the supervisor's MCP session halfway, and
    each strategy's report; nothing left open after the cancel-all."""
    from agenthft.demo import DESK, desk_session

    res = await desk_session(5, tmp_path)
    assert set(res["status"]["strategies"]) == set(DESK)
    assert res["open_orders"] == 0
    assert res["fills"]["market-maker"] > 0 and sum(res["fills"].values()) > res["fills"]["market-maker"]
    assert res["mcp"]["strategies_seen"] == sorted(DESK) and res["mcp"]["new_params"]["half_spread"] == 3
    assert [(a["who"], a["action"]) for a in res["audit"]] == [("demo-supervisor", "set_params")]
    nbbo = res["status"]["strategies"]["nbbo-arb"]["venues"]
    assert set(nbbo) == {"agenthft", "venue-b"}, "the multi-venue strategy has both legs"
    assert "agenthft: pnl" in capfd.readouterr().err  # the plain lines, not a TTY
    index = (tmp_path / "index.html").read_text()
    for name in DESK:
        page = (tmp_path / name / "report.html").read_text()
        assert page.count('<figure class="plot"') >= 6 and "live:" in page
        assert f'href="{name}/report.html"' in index


@pytest.mark.timeout(900)
def test_demo_runs_every_part_with_no_data_folder_on_the_shipped_sample(tmp_path):
    """`agenthft demo --duration 5` from a folder with no ../shared beside it and no
    AGENTHFT_DATA: the sample capture that ships with the package is replayed and backtested,
    every other part runs as with the shared data, and it exits 0."""
    here = tmp_path / "clone" / "elsewhere"
    here.mkdir(parents=True)
    assert not (here.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k != "AGENTHFT_DATA"}
    env["AGENTHFT_CACHE"] = str(tmp_path / "cache")  # the sample's cache is built here, fresh
    script = Path(sys.executable).with_name("agenthft")
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "agenthft.cli"]
    proc = subprocess.run(
        [*cmd, "demo", "--duration", "5", "--out", str(tmp_path / "results")],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "no data folder at ../shared/data: replaying the sample that ships with agenthft" in out
    assert "--data DIR" in out
    assert "211 checks passed, 0 failed over 1 checked captures" in out
    assert "recorded data: usdm_btcusdt_20240808_head.gz (BTCUSDT-PERP)" in out and "decoded and cached" in out
    assert "journal fills == venue fills, one to one: True" in out
    assert "two venues on one clock" in out and "Traceback" not in proc.stderr
    assert (tmp_path / "results" / "demo-desk" / "index.html").is_file()
