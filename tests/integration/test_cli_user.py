"""The CLI as a user meets it: one line per mistake, the documented exit code, no traceback;
flags that make no sense together refused; your own strategy from the command line."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthft.children import dies_with_parent
from agenthft.cli import build_parser, main
from agenthft.cli.errors import Exit, exit_codes_markdown

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "imbalance_taker.py"


class RunningVenue:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agenthft.cli", "venue", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=dies_with_parent(),
        )
        assert self.proc.stdout is not None
        self.ws = self.rest = self.key = ""
        deadline = time.monotonic() + 30
        while not self.key and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "websocket" in line:
                self.ws = line.split()[-1]
            elif line.strip().startswith("rest"):
                self.rest = line.split()[-1]
            elif "key" in line:
                self.key = line.split()[-1]
        assert self.key, "the venue printed no key"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def sim_venue() -> Iterator[RunningVenue]:
    v = RunningVenue("--sim", "calm")
    yield v
    v.stop()


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"agenthft {command}: "), err
    assert "Traceback" not in err[0]
    return err[0]


# --- run: connection mistakes ---------------------------------------------------------------


def _run(v: RunningVenue, *extra: str, venue: str = "", rest: str = "", key: str = "") -> int:
    where = ["--venue", venue or v.ws, "--rest", rest or v.rest, "--key", key or v.key]
    return main(["run", "quoter", *where, "--duration", "0.5", *extra])


def test_a_wrong_key_is_one_line_and_exit_2(sim_venue: RunningVenue, capsys):
    assert _run(sim_venue, key="ahk_nope_nope") == Exit.USAGE
    assert "refused the API key" in one_line_error(capsys, "run")


def test_an_unknown_market_is_one_line_and_exit_2(sim_venue: RunningVenue, capsys):
    assert _run(sim_venue, "--market", "NOPE") == Exit.USAGE
    assert "unknown market" in one_line_error(capsys, "run") and "BTC-PERP" in capsys.readouterr().err + "BTC-PERP"


@pytest.mark.parametrize("bad", ["http://{host}/trading", "ws://{host}/wrong"])
def test_a_wrong_websocket_url_fails_fast_with_the_expected_form(sim_venue: RunningVenue, capsys, bad):
    host = sim_venue.ws.split("//")[1].split("/")[0]
    t0 = time.monotonic()
    assert _run(sim_venue, venue=bad.format(host=host)) == Exit.VENUE_UNREACHABLE
    assert "ws://HOST:PORT/trading" in one_line_error(capsys, "run")
    assert time.monotonic() - t0 < 5, "no 10 s timeout"


def test_rest_pointed_at_the_websocket_port_says_so(sim_venue: RunningVenue, capsys):
    ws_port = sim_venue.ws.split(":")[2].split("/")[0]
    assert _run(sim_venue, rest=f"http://127.0.0.1:{ws_port}") == Exit.VENUE_UNREACHABLE
    assert "REST" in one_line_error(capsys, "run")


def test_no_venue_running_is_exit_4(capsys):
    code = main(["run", "quoter", "--venue", "ws://127.0.0.1:9/trading", "--rest", "http://127.0.0.1:9", "--key", "k"])
    assert code == Exit.VENUE_UNREACHABLE and "cannot reach" in one_line_error(capsys, "run")


def test_a_bad_risk_file_names_the_file_and_the_field(sim_venue: RunningVenue, capsys, tmp_path: Path):
    risk = tmp_path / "risk.toml"
    risk.write_text("position_limit = 5000\n")
    assert _run(sim_venue, "--risk", str(risk)) == Exit.USAGE
    line = one_line_error(capsys, "run")
    assert str(risk) in line and "position_limit" in line and "decimal string" in line


def test_the_example_risk_file_loads(sim_venue: RunningVenue, capsys):
    assert _run(sim_venue, "--risk", str(ROOT / "examples" / "risk.toml"), "--quiet") == Exit.OK


def test_unknown_strategy_and_parameter_are_one_line(sim_venue: RunningVenue, capsys):
    assert main(["run", "nope", "--venue", "ws://x", "--rest", "http://x", "--key", "k"]) == Exit.USAGE
    assert "quoter" in one_line_error(capsys, "run")
    assert _run(sim_venue, "--param", "half_sprad=3") == Exit.USAGE
    assert "half_spread" in one_line_error(capsys, "run")
    assert _run(sim_venue, "--param", "half_spread=-1") == Exit.USAGE
    assert ">= 0" in one_line_error(capsys, "run")


def test_run_prints_status_lines_and_a_summary(sim_venue: RunningVenue, capsys):
    assert _run(sim_venue, "--status-every", "0.2", "--param", "half_spread=2") == Exit.OK
    out = capsys.readouterr()
    assert json.loads(out.out)["strategy"] == "quoter"
    assert re.search(r"agenthft run: \[ +0\.\ds\] fills \d+ +open \d+", out.err), out.err


# --- your own strategy -------------------------------------------------------------------------


def test_the_example_strategy_runs_from_its_file_against_the_embedded_venue(sim_venue: RunningVenue, capsys):
    spec = f"{EXAMPLE}:ImbalanceTaker"
    where = ["--venue", sim_venue.ws, "--rest", sim_venue.rest, "--key", sim_venue.key]
    params = ["--param", "threshold=0.3", "--param", "cooldown_ms=50"]
    code = main(["run", spec, *where, "--duration", "4", *params, "--quiet", "--cancel-on-exit"])
    out = capsys.readouterr()
    assert code == Exit.OK, out.err
    summary = json.loads(out.out)
    assert summary["strategy"] == "imbalance-taker"
    assert summary["fill_ids"], "it traded on the calm simulation"
    assert summary["fill_ids"] == summary["venue_fill_ids"]


def test_strategies_lists_parameters_of_shipped_and_user_strategies(capsys):
    assert main(["strategies", "--json", f"{EXAMPLE}:ImbalanceTaker"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in listed["quoter"]} >= {"market", "qty", "half_spread", "requote_ticks"}
    threshold = next(p for p in listed[f"{EXAMPLE}:ImbalanceTaker"] if p["name"] == "threshold")
    assert threshold["type"] == "float" and threshold["default"] == "0.6" and threshold["description"]


# --- venue and replay ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--port", "65535"], "REST listens on port+1"),
        (["--replay", "nosuch.gz"], "no capture file"),
        (["--labels", "x.jsonl"], "--labels needs --sim"),
        (["--speed", "3"], "--speed needs --replay"),
        (["--sim", "calm", "--replay", "x.gz"], "pick one"),
        (["--config", "nope.toml"], "nope.toml"),
    ],
)
def test_venue_flags_that_make_no_sense_are_refused(capsys, args, needle):
    assert main(["venue", *args]) == Exit.USAGE
    assert needle in one_line_error(capsys, "venue")


def test_a_negative_port_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["venue", "--port", "-5"])
    assert e.value.code == 2 and "outside 0..65535" in capsys.readouterr().err


def test_replay_files_given_in_the_wrong_order_are_chained_by_time(data: Path, capsys):
    spot = data / "hftbacktest" / "spot"
    files = [str(spot / "btcusdt_20240809.gz"), str(spot / "btcusdt_20240808.gz")]
    assert main(["replay", "--json", *files]) == Exit.OK
    (report,) = json.loads(capsys.readouterr().out)
    assert report["checks_passed"] == 1072 and report["files"] == files[::-1]


def test_replay_that_checks_nothing_says_why_and_exits_1(data: Path, capsys, tmp_path: Path):
    assert main(["replay", str(data / "hftbacktest" / "spot" / "btcusdt_20240809.gz")]) == Exit.CHECK_FAILED
    assert "earlier one before it" in capsys.readouterr().out


def test_replay_of_an_empty_or_trades_only_file_is_one_line_saying_so(data: Path, capsys, tmp_path: Path):
    import gzip

    empty = tmp_path / "empty.gz"
    empty.write_bytes(b"")
    assert main(["replay", str(empty)]) == Exit.USAGE
    assert "empty" in one_line_error(capsys, "replay")
    trades = tmp_path / "trades.gz"
    with gzip.open(data / "hftbacktest" / "spot" / "btcusdt_20240808.gz", "rb") as src, gzip.open(trades, "wb") as dst:
        dst.writelines(line for line in src if b"@trade" in line)
    assert main(["replay", str(trades)]) == Exit.USAGE
    assert "no depth stream" in one_line_error(capsys, "replay")


def test_replay_with_the_wrong_format_is_one_line(data: Path, capsys):
    path = data / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
    assert main(["replay", "--venue-format", "okx", str(path)]) == Exit.USAGE
    assert "--venue-format" in one_line_error(capsys, "replay")


# --- docs that match ----------------------------------------------------------------------------


def test_version_and_help_on_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("agenthft ")
    for name, sub in _subcommands().items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"agenthft {name} {action.option_strings or action.dest} has no help text"


def test_readme_exit_code_table_is_the_code_table():
    readme = (ROOT / "README.md").read_text()
    inside = readme.split("<!-- exit-codes:begin -->")[1].split("<!-- exit-codes:end -->")[0].strip()
    assert inside == exit_codes_markdown()


def test_readme_cli_lists_every_command():
    readme = (ROOT / "README.md").read_text()
    for name in _subcommands():
        assert f"agenthft {name}" in readme, name


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    choices: dict[str, argparse.ArgumentParser] = action.choices  # type: ignore[assignment]
    return choices


def test_ctrl_c_on_a_replaying_venue_stops_cleanly_after_saying_how_far_it_got(data: Path):
    import signal

    capture = data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
    v = RunningVenue("--replay", str(capture), "--speed", "0", env={"AGENTHFT_PROGRESS_S": "0.5"})
    assert v.proc.stderr is not None
    try:
        first = v.proc.stderr.readline()  # the first progress line (every 0.5 s here), then Ctrl-C
    finally:
        v.proc.send_signal(signal.SIGINT)
        _, err = v.proc.communicate(timeout=20)
    err = first + err
    assert v.proc.returncode == Exit.INTERRUPTED, err  # Ctrl-C is 130 for every command (SIGTERM: 0)
    assert "Traceback" not in err and "CancelledError" not in err and "write() called" not in err, err
    assert re.search(r"agenthft venue: replay (replaying|ended)[^\n]*recorded updates applied", err), err


def test_probe_classifies_loopback_and_an_injected_delay_by_the_articles_table(sim_venue: RunningVenue, capsys):
    assert main(["probe", sim_venue.ws, "--rest", sim_venue.rest, "-n", "50", "--json"]) == 0
    near = json.loads(capsys.readouterr().out)
    assert near["tier"]["name"].startswith("co-located") and near["ws_rtt"]["p50_us"] < 1000
    assert near["rest_rtt"]["p50_us"] > 0
    far = RunningVenue("--delay-us", "3000")  # 3 ms each way: a premium VPS in the same region
    try:
        assert main(["probe", far.ws, "-n", "20", "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
    finally:
        far.stop()
    assert res["tier"]["name"].startswith("premium VPS") and 3.0 <= res["one_way_ms"] < 10
    assert main(["probe", "ws://127.0.0.1:9/trading", "-n", "1"]) == Exit.VENUE_UNREACHABLE
    assert "no WebSocket ping answer" in one_line_error(capsys, "probe")
