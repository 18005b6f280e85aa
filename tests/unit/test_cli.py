import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


def test_venue_and_backtest_help_list_every_packaged_scenario(capsys):

    from agenthft.market.sim.scenario import scenario_names

    assert "desk" in scenario_names()
    for cmd in ("venue", "backtest"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert all(name in text for name in scenario_names()), (cmd, text)


def test_the_desk_example_starts_its_venues_on_the_ports_it_names():
    """examples/desk.toml's first comment line is the venue command; with --port N the venues
    listen on N..N+3 (WebSocket, REST, then the second venue's), as its [venues] say."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    text = (root / "examples" / "desk.toml").read_text()
    command = next(line for line in text.splitlines() if "agenthft venue" in line).split("#")[1].split()
    port = int(command[command.index("--port") + 1])
    venues = tomllib.loads(text)["venues"]
    assert command.count("--config") == len(venues) == 2
    urls = [u for v in venues.values() for u in (v["ws"], v["rest"])]
    assert urls == [
        f"ws://127.0.0.1:{port}/trading",
        f"http://127.0.0.1:{port + 1}",
        f"ws://127.0.0.1:{port + 2}/trading",
        f"http://127.0.0.1:{port + 3}",
    ]


# --- the demo's data: ../shared/data where it is, else the sample that ships with the package ---


def test_the_shipped_sample_is_the_first_lines_of_the_shared_capture_byte_for_byte(data: Path):
    import gzip

    from agenthft.cli.capture import SAMPLE_DATA

    (sample,) = SAMPLE_DATA.glob("*.gz")
    assert sample.stat().st_size <= 2_000_000
    lines = gzip.decompress(sample.read_bytes()).splitlines(keepends=True)
    with gzip.open(data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz", "rb") as f:
        original = [next(f) for _ in range(len(lines))]
    assert lines == original and len(lines) == 30_000
    readme = (SAMPLE_DATA / "README.md").read_text()
    assert "nkaz001/hftbacktest" in readme and "MIT License" in readme and "30,000" in readme


def test_the_shipped_sample_replays_and_verifies(capsys):
    from agenthft.cli.capture import SAMPLE_DATA

    assert main(["replay", "--json", *map(str, SAMPLE_DATA.glob("*.gz"))]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["checks_passed"], report["checks_failed"], report["gaps"], report["crossed"]) == (211, 0, 0, 0)
    assert report["markets"] == ["BTCUSDT-PERP"]


def test_demo_data_falls_back_to_the_sample_and_says_how_to_give_more(tmp_path: Path, monkeypatch):
    from agenthft.cli.capture import SAMPLE_DATA
    from agenthft.cli.demo import find_captures

    monkeypatch.chdir(tmp_path)  # no ../shared/data here
    monkeypatch.delenv("AGENTHFT_DATA", raising=False)
    captures, line = find_captures(None)
    assert [(fmt, [f.parent for f in files]) for fmt, files in captures] == [("binance", [SAMPLE_DATA])]
    assert "no data folder at ../shared/data" in line and "--data DIR" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    captures, line = find_captures(str(empty))  # a folder with no capture in it: the sample too
    assert captures[0][1][0].parent == SAMPLE_DATA and f"no captures at {empty}" in line
    monkeypatch.setenv("AGENTHFT_DATA", "")  # empty is unset
    assert find_captures(None)[0][0][1][0].parent == SAMPLE_DATA


def test_demo_data_given_is_used_and_a_missing_folder_is_a_usage_error(data: Path, tmp_path: Path, capsys):
    from agenthft.cli.demo import find_captures

    captures, line = find_captures(str(data / "cryptofeed"))
    assert {fmt for fmt, _ in captures} == {"okx", "kraken"}
    assert line.startswith(f"captures from {data / 'cryptofeed'}")
    assert main(["demo", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agenthft demo: no data folder at") and "Traceback" not in err


def test_the_replay_table_names_each_reports_market(data: Path, tmp_path: Path, capsys):
    """Two files both named btcusdt_20240808.gz (spot and USD-M) and a file of ten Kraken pairs:
    the market column tells the rows apart. (The two captures' first 5,000 lines each: the names
    are the point, not the days.)"""
    files = []
    for kind in ("spot", "usdm"):
        src = data / "hftbacktest" / kind / "btcusdt_20240808.gz"
        head = tmp_path / kind / src.name
        head.parent.mkdir()
        head.write_bytes(gzip.compress(b"".join(gzip.decompress(src.read_bytes()).splitlines(keepends=True)[:5000])))
        files.append(head)
    assert main(["replay", *map(str, files)]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("│") and "btcusdt_20240808.gz" in ln]
    assert len(rows) == 2 and "BTCUSDT " in rows[0] + rows[1] and "BTCUSDT-PERP" in rows[0] + rows[1]
    assert main(["replay", str(data / "cryptofeed" / "KRAKEN.ws.50.0")]) == 0
    out = capsys.readouterr().out
    assert "┃ market" in out and "+7 more" in out


def test_replay_takes_files_of_several_formats_in_one_command(data: Path, capsys):
    files = [data / "cryptofeed" / "OKX.ws.1.0", data / "cryptofeed" / "KRAKEN.ws.50.0"]
    assert main(["replay", "--json", *map(str, files)]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [(r["venue_format"], r["checks_passed"]) for r in reports] == [("okx", 290), ("kraken", 4269)]


def test_a_ctrl_c_that_lands_where_python_swallows_exceptions_still_ends_the_command_interrupted(monkeypatch, capsys):
    """Seen: the SIGINT arrived inside logging's at-fork hook; its KeyboardInterrupt was printed as
    'Exception ignored' with a traceback, and the demo went on with its step (then exited 0). It is
    now delivered again at the command's next step, with no traceback."""
    import argparse
    import signal
    import time

    import agenthft.cli as cli

    went_on: list[int] = []

    class Finalizer:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)  # our handler raises in here: Python ignores it

    def command(args: argparse.Namespace) -> int:
        Finalizer()
        for i in range(10_000):  # 10 s if nothing stops it
            went_on.append(i)  # the redelivered Ctrl-C lands in here, within a few steps
            time.sleep(0.001)
        return 0

    monkeypatch.setattr(cli, "build_parser", lambda: _quiet_parser(command))
    assert cli.main([]) == 130
    assert len(went_on) < 10_000, "the command stopped within a few steps, it did not run to its end"
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    monkeypatch.setattr(cli, "build_parser", lambda: _quiet_parser(lambda args: 0))
    assert cli.main([]) == 0, "a later command in the same process is not marked interrupted"


def test_a_ctrl_c_that_c_code_cleared_is_delivered_again(monkeypatch, capsys):
    """Seen: SIGINT during `import msgspec`, inside its extension's init, which clears errors: no
    trace of the KeyboardInterrupt, and the hour-long backtest ran on. C's PyObject_HasAttr clears
    any error the same way; the watcher sees the main thread run on and delivers it again."""
    import ctypes
    import signal
    import time

    import agenthft.cli as cli

    went_on: list[int] = []

    class Interrupting:
        def __getattr__(self, name: str) -> object:
            signal.raise_signal(signal.SIGINT)
            return None

    def command(args: Any) -> int:
        assert ctypes.pythonapi.PyObject_HasAttr(ctypes.py_object(Interrupting()), ctypes.py_object("x")) == 0
        for i in range(10_000):  # 10 s if nothing stops it
            went_on.append(i)
            time.sleep(0.001)
        return 0

    monkeypatch.setattr(cli, "build_parser", lambda: _quiet_parser(command))
    assert cli.main([]) == 130
    assert len(went_on) < 10_000, "delivered again within a few steps, not at the command's end"
    assert "Traceback" not in capsys.readouterr().err


def test_an_error_a_ctrl_c_caused_on_its_way_out_still_ends_the_command_interrupted(monkeypatch):
    """Seen: Ctrl-C as uvloop.run started its loop; unwinding raised "Cannot close a running event
    loop", and the demo exited 2 instead of 130."""
    import signal

    import agenthft.cli as cli

    def command(args: Any) -> int:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise RuntimeError("Cannot close a running event loop") from None
        return 0

    monkeypatch.setattr(cli, "build_parser", lambda: _quiet_parser(command))
    assert cli.main([]) == 130
    monkeypatch.setattr(cli, "build_parser", lambda: _quiet_parser(lambda args: (_ for _ in ()).throw(ValueError("x"))))
    assert cli.main([]) != 130, "an error with no Ctrl-C behind it keeps its own code"


def _quiet_parser(func: Any) -> Any:
    import argparse

    p = argparse.ArgumentParser()
    p.set_defaults(func=func, command="quiet", debug=False)
    return p


def test_a_ctrl_c_while_a_subprocess_forks_waits_for_the_fork_hooks_and_leaves_no_lock_held(tmp_path):
    """Seen in CI: the SIGINT landed in logging's at-fork hook as the demo started a process with
    preexec_fn; Python printed the ignored KeyboardInterrupt's traceback, and logging's module lock
    stayed held. A hook registered before logging's trips the signal as os.fork runs its hooks, so
    Python's handler runs at the start of logging's own hook, as it did there."""
    script = tmp_path / "fork.py"
    script.write_text(
        "import _thread, os, subprocess, sys, threading, time\n"
        "assert 'logging' not in sys.modules\n"
        "os.register_at_fork(after_in_parent=_thread.interrupt_main)  # C: the handler runs in the next hook\n"
        "import logging  # its hooks next, as in the demo (asyncio imports it)\n"
        "import agenthft.cli as cli, argparse\n"
        "steps = []\n"
        "def command(args):\n"
        "    subprocess.run(['true'], preexec_fn=lambda: None)\n"
        "    for i in range(10_000):\n"
        "        steps.append(i); time.sleep(0.001)\n"
        "    return 0\n"
        "p = argparse.ArgumentParser(); p.set_defaults(func=command, command='fork', debug=False)\n"
        "cli.build_parser = lambda: p\n"
        "code = cli.main([])\n"
        "t = threading.Thread(target=logging.getLogger, args=('another-thread',), daemon=True); t.start(); t.join(10)\n"
        "print(code, len(steps) < 10_000, not t.is_alive())\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["130", "True", "True"], out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr
