"""A live run counts its own session (issue 22 item 9) and starts with money limits on (item 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.test_cli_user import RunningVenue


@pytest.fixture(scope="module")
def calm():
    v = RunningVenue("--sim", "calm")
    yield v
    v.stop()


def run(v: RunningVenue, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", v.ws, "--rest", v.rest, "--key", v.key,
           "--duration", "3", "--quiet", "--cancel-on-exit", "--out", str(out), *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def test_a_second_run_on_the_same_key_reports_its_own_fills_and_fees_with_the_account_beside(calm, tmp_path):
    first = run(calm, tmp_path / "one")
    assert first.returncode == 0, first.stderr
    second = run(calm, tmp_path / "two")
    assert second.returncode == 0, second.stderr
    s1, s2 = json.loads(first.stdout), json.loads(second.stdout)
    assert s1["fills"] > 0 and s2["fills"] > 0, "the quoter traded in both sessions"
    rows = pq.read_table(tmp_path / "two" / "events.parquet").to_pylist()
    fill_rows = [r for r in rows if r["event"] == "fill"]
    written = json.loads((tmp_path / "two" / "summary.json").read_text())
    # the session: the summary, the results file and events.parquet agree
    assert s2["fills"] == len(fill_rows) == written["fills"]
    assert written["fees"] == pytest.approx(sum(r["fee"] for r in fill_rows), abs=1e-6)
    assert s2["fees"] == pytest.approx(written["fees"], abs=1e-6)
    # the account, labelled, holds both sessions
    assert s2["account"]["fills"] == len(s2["fill_ids"]) >= s1["fills"] + s2["fills"]
    assert "earlier sessions" in s2["account"]["what"]


def test_without_a_risk_file_safe_money_limits_are_on_and_said(calm, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", calm.ws, "--rest", calm.rest,
         "--key", calm.key, "--duration", "1", "--status-every", "60"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "risk: position_limit 10000" in proc.stderr and "safe defaults" in proc.stderr
    limits = json.loads(proc.stdout)["risk_limits"]
    assert limits == {
        "position_limit": "10000",
        "total_position_limit": "50000",
        "max_order_notional": "5000",
        "daily_loss_limit": "1000",
    }


def test_no_limits_must_be_said_and_a_file_that_turns_them_all_off_needs_it(calm, tmp_path):
    off = tmp_path / "off.toml"
    off.write_text('position_limit = "0"\nmax_consecutive_faults = 5\n')
    base = [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", calm.ws, "--rest", calm.rest,
            "--key", calm.key, "--duration", "1", "--status-every", "60"]  # fmt: skip
    refused = subprocess.run([*base, "--risk", str(off)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--no-limits" in refused.stderr
    said = subprocess.run([*base, "--no-limits"], capture_output=True, text=True, timeout=60)
    assert said.returncode == 0, said.stderr
    assert "every money limit OFF" in said.stderr
    assert set(json.loads(said.stdout)["risk_limits"].values()) == {"0"}
