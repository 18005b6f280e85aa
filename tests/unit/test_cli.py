import json
import subprocess
import sys
from pathlib import Path

from agenthft.cli import main


def test_replay_prints_json_and_exits_zero_when_all_checks_pass(data: Path, capsys):
    code = main(["replay", str(data / "cryptofeed/KRAKEN.ws.50.0"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out[0]["checks_passed"] == 4269 and out[0]["checks_failed"] == 0


def test_replay_exits_nonzero_when_checks_fail(data: Path, tmp_path: Path, capsys):
    lines = (data / "cryptofeed/OKX.ws.1.0").read_text().splitlines(keepends=True)
    # corrupt one size in an update: its checksum (and the book after it) must fail
    i = next(i for i, ln in enumerate(lines) if '"action":"update"' in ln and '"BTC-USDT"' in ln)
    lines[i] = lines[i].replace('"0.059"', '"0.058"', 1)
    assert '"0.058"' in lines[i]
    bad = tmp_path / "OKX.ws.bad"
    bad.write_text("".join(lines))
    assert main(["replay", str(bad), "--venue-format", "okx", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["checks_failed"] > 0


def test_replay_of_a_missing_file_is_a_clear_error(capsys):
    assert main(["replay", "/nonexistent/OKX.ws.1.0"]) == 2
    assert "no capture file" in capsys.readouterr().err


def test_console_script_demo_runs(data: Path):
    out = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "demo", "--data", str(data), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    reports = json.loads(out)
    by_format: dict[str, int] = {}
    for r in reports:
        by_format[r["venue_format"]] = by_format.get(r["venue_format"], 0) + r["checks_passed"]
    assert [r["checks_failed"] for r in reports] == [0] * len(reports)
    expected = {"binance": 1072 + 629 + 1885, "okx": 290, "kraken": 4269, "lobster": 937, "lobster-engine": 937}
    expected["tardis"] = 10 + 1  # 10 snapshot rows not crossed (each also rebuilds exactly: test_feeds_more), 1 book
    assert by_format == expected
