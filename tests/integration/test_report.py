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
    assert main(["report", str(tmp_path)]) == 2
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
