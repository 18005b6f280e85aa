"""Sweeps on recorded data: 20+ backtests in parallel processes, and the same on Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenthft.backtest.data import DataOptions
from agenthft.backtest.sweep import RunSpec, grid, sweep


def specs(data: Path, cache: Path) -> list[RunSpec]:
    capture = data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
    params = {"market": ["BTC-PERP"], "ticks": ["0", "1", "2", "3", "5"], "qty": ["0.001", "0.002"]}
    latencies = ["0,1000,0", "300,300,300"]
    opts = DataOptions(queue="power2", cache_dir=str(cache))
    return grid("bbo-quoter", "", 0, params, latencies, [1], [str(capture)], opts)


def test_twenty_backtests_on_a_capture_in_parallel_processes(data: Path, tmp_path: Path):
    s = specs(data, tmp_path)
    assert len(s) == 20
    rows = sweep(s, jobs=2)
    assert [r["run"] for r in rows] == list(range(20))
    assert len(list(tmp_path.glob("*.parquet"))) == 1, "decoded once, before the workers"
    by = {(r["param_ticks"], r["param_qty"], r["latency"]): r for r in rows}
    # a quote further from the touch fills less often
    assert by[("0", "0.001", "300,300,300")]["fills"] > by[("5", "0.001", "300,300,300")]["fills"]
    assert len({r["pnl_after_fees"] for r in rows}) > 10


def test_the_same_sweep_on_a_local_ray_instance_gives_identical_rows(data: Path, tmp_path: Path):
    pytest.importorskip("ray", reason="Ray is the optional agenthft[ray] extra")
    s = specs(data, tmp_path)
    local = sweep(s, jobs=2)
    on_ray = sweep(s, ray_address="local")
    assert on_ray == local


def test_runs_that_share_a_captures_rows_give_what_runs_on_fresh_rows_give(data: Path, events_cache: Path):
    """A process reads a capture's rows once for all its runs (`rows_of`): a run after others on
    the same rows gives the row it gives on rows read fresh, so a backtest leaves them as it found them."""
    from agenthft.backtest import sweep as sw

    s = specs(data, events_cache)
    sw.run_one(s[3])
    after = sw.run_one(s[0])  # on the rows the run before used
    assert len(sw._loaded) == 1
    sw._loaded.clear()
    assert sw.run_one(s[0]) == after
    sw._loaded.clear()
