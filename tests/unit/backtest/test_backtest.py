"""The backtest: deterministic, latency matters the way it should, the same strategy as live."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from agenthft.backtest import Backtest, Constant, Empirical, Jittered, parse
from agenthft.strategies import LatencyArb, LatencyArbParams, Quoter


def files_digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_same_inputs_give_byte_identical_results_files(tmp_path: Path):
    digests = []
    for run in ("a", "b"):
        bt = Backtest(Quoter("BTC-PERP", "0.01", 2, "60000"), "manipulated", 5, parse("vps", seed=3), seed=2)
        digests.append(files_digest(bt.run().write(tmp_path / run)))
    files = {"events.parquet", "equity.parquet", "risk.parquet", "summary.json", "report.html"}
    assert digests[0] == digests[1] and set(digests[0]) == files  # the HTML report too


def test_latency_matters_the_way_it_should_on_lead_lag():
    pnl = {}
    for name, us in (("fast", 50), ("slow", 10_000)):
        arb = LatencyArb.from_params(LatencyArbParams())
        bt = Backtest(arb, "lead-lag", 5, Constant(us, us, us), seed=4)  # 5 s: +6.9 fast, 0 slow
        pnl[name] = bt.run().summary.pnl_after_fees
    assert pnl["fast"] > 5 and pnl["slow"] <= 0.5, pnl  # the makers reprice 10 ms late


def test_the_quoter_trades_as_a_maker_in_backtest():
    s = Backtest(Quoter("BTC-PERP", "0.01", 2, "60000"), "calm", 10, parse("colocated"), seed=1).run().summary
    assert s.orders > 100 and s.fills > 50 and s.maker_share == 1.0 and s.fees < 0
    assert s.events > 10_000


@pytest.mark.parametrize("spec", ["colocated", "metal", "vps", "vps-remote", "serverless", "50,1000,100"])
def test_latency_specs_parse(spec):
    model = parse(spec)
    assert model.feed_ns() > 0 and model.order_ns() > 0 and model.response_ns() > 0


def test_latency_models_are_seeded_and_bounded():
    a, b = Jittered(300, 100, seed=5), Jittered(300, 100, seed=5)
    draws = [a.order_ns() for _ in range(1000)]
    assert draws == [b.order_ns() for _ in range(1000)]
    assert min(draws) >= 300_000 and max(draws) <= 400_000
    e = Empirical([100_000, 200_000])
    assert {e.feed_ns() for _ in range(100)} == {50_000, 100_000}
    with pytest.raises(ValueError):
        parse("warp-speed")


def test_backtest_cli_writes_results_and_json(tmp_path: Path, capsys):
    from agenthft.cli import main

    args = ["--sim", "calm", "--duration", "3", "--json", "--out", str(tmp_path), "--latency", "metal"]
    code = main(["backtest", "quoter", *args, "--param", "half_spread=2"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["orders"] > 0 and len(out["files"]) == 5
    assert json.loads((tmp_path / "summary.json").read_text())["strategy"] == "quoter"
    assert main(["backtest", "quoter", "--data", "x.gz"]) == 2


def test_a_sweep_in_parallel_processes_equals_the_same_sweep_in_one(tmp_path: Path):
    from agenthft.backtest.sweep import grid, sweep, write

    specs = grid("quoter", "calm", 2, {"half_spread": ["1", "3"]}, ["colocated", "vps"], [1, 2])
    assert len(specs) == 8
    parallel, serial = sweep(specs, jobs=2), sweep(specs, jobs=1)
    assert parallel == serial and [r["run"] for r in parallel] == list(range(8))
    a, b = write(parallel, tmp_path / "a.parquet"), write(serial, tmp_path / "b.parquet")
    assert a.read_bytes() == b.read_bytes()
    assert {r["param_half_spread"] for r in parallel} == {"1", "3"} and all(r["orders"] > 0 for r in parallel)
