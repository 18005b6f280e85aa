"""Progress of long jobs: a bar on a terminal, plain lines every few seconds elsewhere (a pipe,
a log, an AI agent reading stderr)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenthft.progress import DEFAULT_EVERY_S, Progress, every_s


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


def test_off_a_terminal_a_plain_line_comes_every_interval_with_how_far_and_how_long(monkeypatch):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", "0.05")
    out = io.StringIO()
    with Progress("agenthft sweep", "backtests", total=4, stream=out) as p:
        p.advance()
        wait_for(lambda: "1/4" in out.getvalue(), "line at 1/4")
        p.advance()
        wait_for(lambda: "2/4" in out.getvalue(), "line at 2/4")
    lines = out.getvalue().splitlines()
    assert all(
        re.fullmatch(r"agenthft sweep: backtests \d/4 \(\d+%\), \d+ s elapsed(, ~\d+ s left)?", ln) for ln in lines
    )
    assert "agenthft sweep: backtests 2/4 (50%)" in lines[-1]
    assert p._thread is None  # closed with the job: no line after it


def test_a_job_shorter_than_the_interval_prints_nothing(monkeypatch):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", "60")
    out = io.StringIO()
    with Progress("agenthft backtest", "simulating calm", total=10, unit="s of market time", stream=out) as p:
        p.update(10)
    assert out.getvalue() == ""


def test_an_unknown_total_says_how_long_so_far(monkeypatch):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", "0.05")
    out = io.StringIO()
    with Progress("agenthft backtest", "reading 1 recorded file (3.6 MB)", stream=out):
        wait_for(lambda: out.getvalue(), "a line")
    assert re.match(r"agenthft backtest: reading 1 recorded file \(3\.6 MB\), \d+ s elapsed\n", out.getvalue())


def test_on_a_terminal_a_bar_is_drawn_and_cleared_and_no_plain_line(monkeypatch):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", "0.05")
    out = io.StringIO()
    with Progress("agenthft sweep", "backtests", total=2, stream=out, terminal=True) as p:
        p.advance()
        wait_for(lambda: "1/2" in out.getvalue(), "the bar")
    assert "agenthft sweep: backtests" not in out.getvalue() and p._thread is None


@pytest.mark.parametrize(
    ("text", "expected"), [("", DEFAULT_EVERY_S), ("2", 2.0), ("0", 0.0), ("x", DEFAULT_EVERY_S), ("-1", 5.0)]
)
def test_the_interval_comes_from_the_environment(monkeypatch, text: str, expected: float):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", text)
    assert every_s() == expected


# --- the commands, stderr a pipe (not a terminal) ---------------------------------------------


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    # 0: a line at the start and at every step, however fast the machine (the lines, not their timing)
    env = {**os.environ, "AGENTHFT_PROGRESS_S": "0", "AGENTHFT_CACHE": str(tmp / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "agenthft.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_sweep_prints_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path):
    res = run("sweep", "quoter", "--sim", "calm", "--duration", "8", "--seeds", "1,2,3", "--jobs", "2",
              "--out", str(tmp_path / "s.parquet"), tmp=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("agenthft sweep: backtests ")]
    assert lines and all(re.match(r"agenthft sweep: backtests [0-3]/3 \(\d+%\), \d+ s elapsed", ln) for ln in lines)
    assert "3 backtests ->" in res.stdout


def test_an_experiment_prints_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path):
    res = run("experiment", "spoof-fading", "--seeds", "1", "--seconds", "8", "--out", str(tmp_path), tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(r"^agenthft experiment spoof-fading: backtests [0-2]/2 \(\d+%\)", res.stderr, re.M), res.stderr
    assert (tmp_path / "spoof_fading.png").is_file()


def test_a_data_backtest_shows_the_cache_build_then_the_replay(tmp_path: Path):
    from agenthft.cli.capture import SAMPLE_DATA

    (sample,) = SAMPLE_DATA.glob("*.gz")
    args = ["backtest", "bbo-quoter", "--market", "BTCUSDT-PERP", "--data", str(sample), "--json"]
    res = run(*args, tmp=tmp_path)  # a fresh cache: the first read decodes the file
    assert res.returncode == 0, res.stderr
    assert re.search(r"^agenthft backtest: reading 1 recorded file \(1\.2 MB; .*\), \d+ s elapsed$", res.stderr, re.M)
    assert re.search(r"^agenthft backtest: replaying the recorded market 0/125 s of market time", res.stderr, re.M)
    assert re.search(r"^agenthft backtest: replaying the recorded market \d+/\d+ s of market time", res.stderr, re.M)


def test_signals_eval_and_replay_print_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path, data: Path):
    # the lines, not the work: short runs (at interval 0 a line comes at the start and every step)
    res = run("signals", "eval", "--seeds", "1", "--seconds", "2", "--json", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(r"^agenthft signals eval: simulated runs [0-3]/3 \(\d+%\)", res.stderr, re.M), res.stderr
    res = run("replay", "--json", *map(str, sorted((data / "hftbacktest" / "spot").glob("*.gz"))), tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert re.search(r"^agenthft replay: verifying 2 capture files, \d+ s elapsed", res.stderr, re.M), res.stderr


def test_at_interval_0_a_line_comes_at_the_start_and_at_every_step(monkeypatch):
    monkeypatch.setenv("AGENTHFT_PROGRESS_S", "0")
    out = io.StringIO()
    with Progress("agenthft sweep", "backtests", total=3, stream=out) as p:
        for _ in range(3):
            p.advance()
    counts = re.findall(r"^agenthft sweep: backtests (\d)/3", out.getvalue(), re.M)
    assert counts == ["0", "1", "2", "3"] and len(out.getvalue().splitlines()) == 4 and p._thread is None
