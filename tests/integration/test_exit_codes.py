"""One exit-code mapping for every command (cli/errors.py): the same kind of mistake is the
same code whichever command meets it, one line on stderr, never a traceback; and Ctrl-C at
any moment, from the first instant of the process to the middle of a run, is 130."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthft.cli import main
from agenthft.cli.errors import Exit
from tests.integration.test_cli_user import RunningVenue, one_line_error
from tests.integration.test_desk_cli import register

NOBODY = ("ws://127.0.0.1:9/trading", "http://127.0.0.1:9")  # port 9: nothing listens


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    v = RunningVenue("--sim", "calm")
    yield v
    v.stop()


def desk_file(path: Path, ws: str, rest: str, key: str) -> str:
    path.write_text(
        f'[venues.main]\nws = "{ws}"\nrest = "{rest}"\n'
        f'[[strategies]]\nname = "q"\nstrategy = "quoter"\nkeys = {{ main = "{key}" }}\n'
        'params = { market = "BTC-PERP" }\n'
    )
    return str(path)


# --- a key the venue refuses: 2 for every command -----------------------------------------------


def test_desk_with_a_key_the_venue_refuses_exits_2_like_run(venue: RunningVenue, tmp_path: Path, capsys):
    desk = desk_file(tmp_path / "desk.toml", venue.ws, venue.rest, "ahk_nope_nope")
    assert main(["desk", desk, "--duration", "1"]) == Exit.USAGE
    line = one_line_error(capsys, "desk")
    assert "strategy 'q' could not start" in line and "refused the API key (401)" in line
    where = ["--venue", venue.ws, "--rest", venue.rest, "--key", "ahk_nope_nope"]
    assert main(["run", "quoter", *where, "--duration", "1"]) == Exit.USAGE
    assert "refused the API key (401)" in one_line_error(capsys, "run")


def test_record_with_a_key_the_venue_refuses_exits_2(venue: RunningVenue, tmp_path: Path, capsys):
    argv = ["record", venue.ws, "--rest", venue.rest, "--key", "ahk_nope_nope", "--out", str(tmp_path)]
    assert main([*argv, "--duration", "1"]) == Exit.USAGE
    assert "refused the API key" in one_line_error(capsys, "record")


# --- the same mistake, the same code, whatever the command ---------------------------------------


def usage_mistakes(tmp: Path) -> list[list[str]]:
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "not-a-capture.txt").write_text("hello\n")
    return [
        ["demo", "--data", str(tmp / "nope")],
        ["replay", str(tmp / "nope.gz")],
        ["venue", "--speed", "3"],
        ["run", "nope", "--venue", NOBODY[0], "--rest", NOBODY[1], "--key", "k"],
        ["desk", str(tmp / "nope.toml")],
        ["backtest", "quoter"],
        ["backtest", "quoter", "--sim", "calm", "--latency", "warp"],
        ["sweep", "quoter", "--sim", "calm", "--seeds", "one"],
        ["experiment", "latency-claim", "--seeds", "one", "--out", str(tmp)],
        ["report", str(tmp / "empty")],
        ["signals", "scan", str(tmp / "not-a-capture.txt")],
        ["probe", NOBODY[0], "-n", "0"],
        ["dashboard", NOBODY[1]],
        ["strategies", "nope.py:Nope"],
    ]


def test_usage_mistakes_are_2_and_one_line_for_every_command(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("AGENTHFT_TOKEN", raising=False)
    for argv in usage_mistakes(tmp_path):
        assert main(argv) == Exit.USAGE, argv
        one_line_error(capsys, argv[0])


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "quoter", "--venue", NOBODY[0], "--rest", NOBODY[1], "--key", "k"],
        ["record", NOBODY[0], "--rest", NOBODY[1], "--key", "k", "--out", "{tmp}"],
        ["probe", NOBODY[0], "-n", "1"],
        ["dashboard", NOBODY[1], "--token", "t"],
        ["desk", "{desk}"],
    ],
    ids=lambda argv: argv[0],
)
def test_no_venue_there_is_4_and_one_line_for_every_command(argv: list[str], tmp_path: Path, capsys):
    desk = desk_file(tmp_path / "desk.toml", *NOBODY, "k")
    argv = [a.format(tmp=tmp_path, desk=desk) for a in argv]
    assert main(argv) == Exit.VENUE_UNREACHABLE
    one_line_error(capsys, argv[0])


# --- Ctrl-C at any moment: 130, one line, no traceback ----------------------------------------


def agenthft(*args: str, **env: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("agenthft")  # the console script a user runs
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "agenthft.cli"]
    return subprocess.Popen(
        [*cmd, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AGENTHFT_PROGRESS_S": "0", **env},  # progress lines at every step
    )


def interrupt(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)


def wait_for_line(proc: subprocess.Popen[str], pattern: str, stream: str = "stderr") -> list[str]:
    """Lines of `stream` up to the first that matches `pattern` (the process must still run)."""
    pipe = proc.stderr if stream == "stderr" else proc.stdout
    assert pipe is not None
    seen: list[str] = []
    for line in pipe:
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"the process ended (exit {proc.wait()}) before {pattern!r}: {''.join(seen)[-2000:]}")


LONG_BACKTEST = ("backtest", "quoter", "--sim", "calm", "--duration", "3600")


def test_ctrl_c_the_instant_the_process_starts_ends_it_as_130_without_a_traceback():
    """Sent as soon as the process exists: before Python can handle a signal it dies of it (the
    shell reports that as 130 too, returncode -SIGINT here); after, agenthft says so, exit 130.
    In between, under load, it can land before `main` has put agenthft's handler in place: in
    Python's own start-up (site, its import machinery) or in the console script's import of
    `agenthft.cli`. Python then prints its own traceback and exits 1 or dies of the signal, or (in
    one place) prints it and goes on; `entry` then ends the command as interrupted (it used to run
    the hour-long backtest). Either way the process ends, and no traceback passes through `main`."""
    proc = agenthft(*LONG_BACKTEST)
    _exec_done(proc)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired as running:
        # Lost before any agenthft code ran: Python ignored it (printed "Exception ignored", no
        # frame of ours) in its start-up. A user presses again; a second Ctrl-C is then obeyed.
        early = (running.stderr or b"").decode() if isinstance(running.stderr, bytes) else running.stderr or ""
        ignored = early.split("\nagenthft ")[0]  # before the command's first line
        assert "Exception ignored" in ignored and not re.search(r'File "[^"]*/agenthft/', ignored), early
        _, err = interrupt(proc)
        assert proc.returncode == Exit.INTERRUPTED, err
        return
    if "Traceback" in err and not re.search(r"agenthft/cli/__init__\.py\", line \d+, in (main|entry)\b", err):
        assert proc.returncode in (1, Exit.INTERRUPTED, -signal.SIGINT), err  # before our handler
        return
    assert proc.returncode in (Exit.INTERRUPTED, -signal.SIGINT), err
    assert "Traceback" not in err, err


def _exec_done(proc: subprocess.Popen[str]) -> None:
    """Until the child has exec'd the interpreter: between fork and exec it still runs the test
    process's own C signal handler, which takes a SIGINT and forgets it (nothing a user can hit)."""
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    if not cmdline.parent.exists():
        return  # not Linux: sent at once
    while proc.poll() is None and LONG_BACKTEST[-1].encode() not in cmdline.read_bytes():
        time.sleep(0.0001)


def test_a_ctrl_c_pythons_start_up_caught_and_printed_still_ends_the_command_as_130():
    """Python's start-up prints a KeyboardInterrupt it caught ("Failed checking if argv[0] is an
    import path entry") and runs the script anyway; it leaves it in sys.last_type."""
    code = (
        "import sys\n"
        "sys.last_type = KeyboardInterrupt  # as PyErr_Print leaves it\n"
        "sys.argv = ['agenthft', *" + repr(list(LONG_BACKTEST)) + "]\n"
        "from agenthft.cli import entry\n"
        "entry()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stderr) == (Exit.INTERRUPTED, "agenthft: interrupted\n"), out.stderr


def test_a_ctrl_c_after_the_command_finished_is_ignored_while_the_process_exits(monkeypatch, capsys):
    """The console script's entry runs the command, then ignores Ctrl-C while the interpreter
    shuts down (one landing in `threading._shutdown` printed a traceback and exited 0 anyway)."""
    from agenthft.cli import entry

    monkeypatch.setattr(sys, "argv", ["agenthft", "strategies"])
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as done:
            entry()
        assert done.value.code == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert "bbo-quoter" in capsys.readouterr().out


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the child's memory map (Linux)")
def test_ctrl_c_while_the_commands_import_is_130_and_one_line():
    """Sent while agenthft imports its commands (the first extension module of a dependency is
    mapped, the heavy imports are under way): exactly 130 and `agenthft: interrupted`."""
    proc = agenthft(*LONG_BACKTEST)
    maps = Path(f"/proc/{proc.pid}/maps")
    while proc.poll() is None and "site-packages" not in maps.read_text():
        time.sleep(0.001)
    _, err = interrupt(proc)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert re.fullmatch(r"agenthft( backtest)?: interrupted\n", err), err


def test_ctrl_c_in_the_middle_of_a_backtest_is_130_and_one_line():
    proc = agenthft(*LONG_BACKTEST)
    wait_for_line(proc, r"agenthft backtest: simulating calm \d+/3,600 s of market time")
    _, err = interrupt(proc)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert "agenthft backtest: interrupted" in err and "Traceback" not in err, err


def test_ctrl_c_in_the_middle_of_a_sweep_stops_its_workers_at_once():
    """Two workers, each on an hour of simulated market: Ctrl-C does not wait for them."""
    proc = agenthft("sweep", "quoter", "--sim", "calm", "--duration", "3600", "--seeds", "1,2", "--jobs", "2")
    wait_for_line(proc, r"agenthft sweep: backtests 0/2")
    _, err = interrupt(proc, timeout=30)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert "agenthft sweep: interrupted" in err and "Traceback" not in err, err


def test_ctrl_c_on_a_running_agent_cleans_up_then_exits_130(venue: RunningVenue):
    proc = agenthft("run", "quoter", "--venue", venue.ws, "--rest", venue.rest, "--key", venue.key, "--cancel-on-exit")
    wait_for_line(proc, r"agenthft run: quoter on BTC-PERP")
    out, err = interrupt(proc)
    assert proc.returncode == Exit.INTERRUPTED, err
    summary = json.loads(out)  # the summary is written first, orders cancelled
    assert summary["exit_code"] == Exit.INTERRUPTED and summary["venue_open_orders"] == []
    assert err.rstrip().endswith("agenthft run: interrupted") and "Traceback" not in err, err


def test_ctrl_c_on_a_running_desk_cleans_up_then_exits_130(venue: RunningVenue, tmp_path: Path):
    desk = desk_file(tmp_path / "desk.toml", venue.ws, venue.rest, register(venue.rest, "sigint-desk"))
    proc = agenthft("desk", desk, "--cancel-on-exit")
    wait_for_line(proc, r"agenthft desk: q .*running")
    out, err = interrupt(proc)
    assert proc.returncode == Exit.INTERRUPTED, err
    summary = json.loads(out)
    assert summary["exit_code"] == Exit.INTERRUPTED and summary["strategies"]["q"]["open_orders"] == []
    assert "agenthft desk: interrupted" in err and "Traceback" not in err, err


def test_sigterm_stops_a_running_agent_with_its_own_code(venue: RunningVenue):
    proc = agenthft("run", "quoter", "--venue", venue.ws, "--rest", venue.rest, "--key", venue.key)
    wait_for_line(proc, r"agenthft run: quoter on BTC-PERP")
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == Exit.OK, err
    assert json.loads(out)["exit_code"] == Exit.OK


def test_ctrl_c_on_an_agent_serving_mcp_stops_the_agent_not_only_the_mcp_door(venue: RunningVenue):
    """uvicorn (the MCP door, in the agent's loop) catches SIGINT too while it serves: the
    agent's own handler still stops it, cleans up and exits 130."""
    args = ["run", "quoter", "--venue", venue.ws, "--rest", venue.rest, "--key", venue.key, "--mcp", "0"]
    proc = agenthft(*args, "--cancel-on-exit")
    wait_for_line(proc, r"agenthft run: quoter on BTC-PERP")
    out, err = interrupt(proc)
    assert proc.returncode == Exit.INTERRUPTED, err
    assert json.loads(out)["exit_code"] == Exit.INTERRUPTED and "Traceback" not in err, err


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("part", "when"),
    [
        ("desk", r"agenthft demo: stopping the desk"),  # the desk's wrap-up: reports being written, the MCP door up
        ("runtime,offline", r"^agent runtime \(Runner"),  # between parts (a cancellation the next could absorb)
        ("offline", r"agenthft demo: quoter at 0.3 ms"),  # a backtest
        ("real-venues", r"^real venues' protocols on loopback"),  # two more processes: a venue and an agent
    ],
)
def test_ctrl_c_at_any_part_of_the_demo_is_130(part: str, when: str, tmp_path: Path):
    """Each part run on its own (`--part`): the same code as in the whole demo, without the
    minutes of the parts before it."""
    parts = [a for p in part.split(",") for a in ("--part", p)]
    proc = agenthft("demo", *parts, "--duration", "2", "--out", str(tmp_path), PYTHONUNBUFFERED="1")
    assert proc.stdout is not None and proc.stderr is not None
    import threading

    lines: list[str] = []
    seen = threading.Event()

    def watch(pipe) -> None:  # both streams: the parts print on stdout, progress on stderr
        for line in pipe:
            lines.append(line)
            if re.search(when, line):
                seen.set()

    readers = [threading.Thread(target=watch, args=(p,), daemon=True) for p in (proc.stdout, proc.stderr)]
    for r in readers:
        r.start()
    while not seen.wait(0.05):
        assert proc.poll() is None, "".join(lines)[-3000:]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == Exit.INTERRUPTED, "".join(lines)[-3000:]
    for r in readers:
        r.join()
    text = "".join(lines)
    assert re.search(r"^agenthft demo: interrupted", text, re.M) and "Traceback" not in text, text[-3000:]
