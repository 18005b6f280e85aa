"""The HTML report: written by `backtest --out`, rebuilt by `agenthft report`, opened in
headless Chromium (Debian's package) with its plots there and non-empty."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agenthft.cli import main


def test_backtest_writes_a_report_and_report_rebuilds_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "run"
    assert main(["backtest", "market-maker", "--sim", "manipulated", "--duration", "5", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    ids = re.findall(r'<figure class="plot" id="([^"]+)"><svg', page)
    assert {"pnl", "fills-BTC-PERP", "latency-fill", "latency-ack", "inventory", "risk"} <= set(ids)
    assert "<script" not in page and not re.search(r'(src|href)="https?:', page)  # self-contained: nothing to fetch
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").read_text() == page
    # a folder of results folders: each report rebuilt, and an index linking them with their numbers
    assert main(["report", str(tmp_path)]) == 0
    index = (tmp_path / "index.html").read_text()
    assert 'href="run/report.html"' in index and "market-maker" in index and "1 runs" in index
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "summary.json" in capsys.readouterr().err


def test_the_report_opens_in_headless_chromium_with_its_plots(tmp_path: Path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "agenthft.cli", "backtest", "quoter", "--sim", "calm", "--duration", "5"]
    subprocess.run([*cmd, "--out", str(out), "--json"], check=True, capture_output=True, timeout=120)
    url = (out / "report.html").resolve().as_uri()
    base = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=60).stdout
    figures = re.findall(r'<figure class="plot" id="([^"]+)">(.*?)</figure>', dom, flags=re.S)
    assert len(figures) >= 6
    for fid, body in figures:
        assert "<svg" in body and len(re.findall(r"<path", body)) > 5, fid  # drawn, not empty
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,4200", url], capture_output=True, timeout=60)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] == 4200 and float(pixels.std()) > 0.05  # not a blank page


def test_a_live_runs_journal_rebuilds_its_results_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from tests.integration.test_cli_user import RunningVenue

    venue = RunningVenue("--sim", "calm")
    try:
        journal = tmp_path / "agent.sqlite"
        cmd = [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", venue.ws, "--rest", venue.rest]
        proc = subprocess.run(
            [*cmd, "--key", venue.key, "--duration", "4", "--quiet", "--cancel-on-exit", "--journal", str(journal)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    finally:
        venue.stop()
    import json

    fills = len(json.loads(proc.stdout)["fill_ids"])
    assert fills > 0
    assert main(["report", str(journal), "--out", str(tmp_path / "rebuilt")]) == 0
    summary = json.loads((tmp_path / "rebuilt" / "summary.json").read_text())
    assert summary["fills"] == fills and summary["orders"] > 0
    page = (tmp_path / "rebuilt" / "report.html").read_text()
    assert page.count('<figure class="plot"') >= 6 and "fills-BTC-PERP" in page
    bad = tmp_path / "not-a-journal.sqlite"
    bad.write_text("nope")
    capsys.readouterr()
    assert main(["report", str(bad)]) == 2 and "journal" in capsys.readouterr().err
