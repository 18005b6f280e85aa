"""`agenthft desk FILE.toml`: two strategies, each its own account on a live simulated venue,
under one control plane, one dashboard (plain lines here) and one results folder; and the desk
file's mistakes as one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthft.cli import main
from tests.integration.test_cli_user import RunningVenue, one_line_error


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    v = RunningVenue("--sim", "manipulated")
    yield v
    v.stop()


def register(rest: str, agent: str) -> str:
    req = urllib.request.Request(
        f"{rest}/api/v1/register", data=json.dumps({"agent_id": agent}).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return str(json.load(r)["api_key"])


def test_a_desk_of_two_strategies_runs_supervised_and_agrees_with_the_venue(venue: RunningVenue, tmp_path: Path):
    desk = tmp_path / "desk.toml"
    desk.write_text(
        f"""
[venues.main]
ws = "{venue.ws}"
rest = "{venue.rest}"

[[strategies]]
name = "mm"
strategy = "market-maker"
keys = {{ main = "{register(venue.rest, "desk-mm")}" }}
params = {{ market = "BTC-PERP" }}

[[strategies]]
name = "wide"
strategy = "quoter"
keys = {{ main = "{register(venue.rest, "desk-wide")}" }}
params = {{ market = "BTC-PERP", half_spread = 8 }}
risk = {{ max_order_notional = "5000" }}
"""
    )
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "agenthft.cli", "desk", str(desk), "--duration", "6", "--cancel-on-exit"]
    proc = subprocess.run([*cmd, "--dashboard", "--out", str(out)], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert set(summary["strategies"]) == {"mm", "wide"}
    for name, s in summary["strategies"].items():
        assert s["open_orders"] == [], name
        assert s["fill_ids"] == s["venue_fill_ids"]["main"], name  # each account, fill for fill
    assert summary["strategies"]["mm"]["fill_ids"], "the market maker traded"
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("agenthft: pnl")]
    assert lines and "mm position" in lines[-1] and "wide position" in lines[-1]
    index = (out / "index.html").read_text()
    assert 'href="mm/report.html"' in index and 'href="wide/report.html"' in index
    assert json.loads((out / "mm" / "summary.json").read_text())["fills"] == len(
        summary["strategies"]["mm"]["fill_ids"]
    )


def test_desk_file_mistakes_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["desk", str(tmp_path / "nope.toml")]) == 2
    assert "no desk file" in one_line_error(capsys, "desk")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[venues.a]\nws = "ws://127.0.0.1:9/trading"\nrest = "http://127.0.0.1:9"\n'
        '[[strategies]]\nname = "x"\nstrategy = "quoter"\nkeys = { b = "k" }\n'
    )
    assert main(["desk", str(bad)]) == 2
    assert "strategy 'x': unknown venue(s) ['b']" in one_line_error(capsys, "desk")
    bad.write_text(bad.read_text().replace('{ b = "k" }', '{ a = "k" }'))
    assert main(["desk", str(bad)]) == 4
    assert "strategy 'x' could not start" in one_line_error(capsys, "desk")
    bad.write_text(bad.read_text() + "colour = 1\n")
    assert main(["desk", str(bad)]) == 2
    assert "colour" in one_line_error(capsys, "desk")
    bad.write_text(bad.read_text().replace("colour = 1\n", "nice = 20\n"))
    assert main(["desk", str(bad)]) == 2
    assert "strategy 'x': nice = 20: a niceness is -20..19" in one_line_error(capsys, "desk")
