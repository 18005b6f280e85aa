"""The live dashboard: drawn in a real terminal (a tmux pane, read back with capture-pane) with
numbers changing, and plain progress lines when stderr is not a terminal."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_cli_user import RunningVenue


@pytest.fixture
def calm_venue():
    v = RunningVenue("--sim", "calm")
    yield v
    v.stop()


def test_dashboard_in_a_tmux_pane_with_live_numbers(calm_venue: RunningVenue, tmp_path: Path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    session = f"agenthft-{time.monotonic_ns()}"
    cmd = (
        f"env COLUMNS=150 LINES=48 {sys.executable} -m agenthft.cli run quoter "
        f"--venue {calm_venue.ws} --rest {calm_venue.rest} "
        f"--key {calm_venue.key} --duration 12 --dashboard --cancel-on-exit > {tmp_path / 'summary.json'}"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], check=True)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "160", "-y", "48"], capture_output=True)
    try:
        screens = []
        for _ in range(40):
            time.sleep(0.5)
            out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if "books (top levels)" in out and "latency (us)" in out:
                screens.append(out)
            if len(screens) >= 2 and screens[-1] != screens[0]:
                break
        assert len(screens) >= 2, f"the dashboard was drawn; the pane shows:\n{out}"
        first, last = screens[0], screens[-1]
        for title in ("books (top levels)", "strategies", "latency (us)", "risk and signals", "P&L after fees"):
            assert title in last, title
        # the quoter's row: its position, P&L, fills, open orders, and orders/s beside the venue's limit
        assert "BTC-PERP" in last and re.search(r"│ quoter\s+│.*│\s+\d+/\d+ │", last), last
        assert first != last, "the numbers change while it runs"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_not_a_terminal_gets_plain_lines_and_out_writes_the_live_report(calm_venue: RunningVenue, tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", calm_venue.ws, "--rest", calm_venue.rest,
         "--key", calm_venue.key, "--duration", "3", "--dashboard", "--cancel-on-exit", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("agenthft: pnl")]
    assert len(lines) >= 2 and "quoter position" in lines[-1] and "\x1b[" not in proc.stderr
    import json

    summary = json.loads(proc.stdout)
    assert any(f.endswith("report.html") for f in summary["files"])
    fills = json.loads((tmp_path / "summary.json").read_text())["fills"]
    assert fills == len(summary["fill_ids"]), "the results record every fill the runner saw"


def test_dashboard_command_needs_a_token_and_a_plane(capsys, monkeypatch):
    from agenthft.cli import main
    from tests.integration.test_cli_user import one_line_error

    monkeypatch.delenv("AGENTHFT_TOKEN", raising=False)
    assert main(["dashboard", "http://127.0.0.1:9"]) == 2
    assert "--token" in one_line_error(capsys, "dashboard")
    assert main(["dashboard", "http://127.0.0.1:9", "--token", "t"]) == 4
    assert "no control plane at http://127.0.0.1:9" in one_line_error(capsys, "dashboard")
