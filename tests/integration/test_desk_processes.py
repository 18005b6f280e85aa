"""`agenthft desk` with each strategy in its own process, as a user runs it, against a live
simulated venue on loopback: the desk's one control plane reads and steers every strategy over
HTTP and MCP; a strategy process killed mid-run is shown dead, its orders cancelled at the venue
by the desk (its key has no cancel-on-disconnect, so nothing else would), while the others keep
trading and agree with the venue fill for fill; Ctrl-C stops every process with its orders
cancelled and its journal flushed (exit 130)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import msgspec
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agenthft.children import dies_with_parent
from agenthft.cli import main
from agenthft.runtime.journal import Journal
from agenthft.runtime.snapshot import AgentSnapshot
from tests.integration.test_cli_user import RunningVenue, one_line_error
from tests.integration.test_desk_cli import register

FULL, RO = "desk-supervisor", "desk-watcher"


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    v = RunningVenue("--sim", "manipulated")
    yield v
    v.stop()


def rest(v: RunningVenue, key: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{v.rest}{path}", data=data, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def key_without_cancel_on_disconnect(v: RunningVenue, agent: str) -> str:
    """A second key on a fresh account whose orders outlive its connection."""
    main_key = register(v.rest, agent)
    return str(rest(v, main_key, "/api/v1/keys", {"cancel_on_disconnect": False})["api_key"])


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy (the deadline only turns a hang into a failure)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


class Desk:
    """`agenthft desk FILE` in its own process, its stderr drained (the control URLs read from it)."""

    def __init__(self, desk_file: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "agenthft.cli", "desk", str(desk_file), "--token", FULL, "--token", f"{RO},ro"]
        self.proc = subprocess.Popen(
            [*cmd, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=dies_with_parent()
        )
        self.err: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = wait_for("the control plane's URL", self._url, 90)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def _url(self) -> str | None:
        assert self.proc.poll() is None, "".join(self.err)
        for line in self.err:
            if "control plane http" in line:
                return line.split()[-1].removesuffix("/v1/status")
        return None

    def mcp_url(self) -> str:
        return next(ln.split()[-1] for ln in self.err if "MCP (streamable HTTP)" in ln)

    def get(self, path: str, token: str = FULL) -> Any:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def post(self, path: str, body: dict[str, Any], token: str = FULL) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def end(self, sig: signal.Signals) -> tuple[int, dict[str, Any]]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, json.loads(out)


def desk_file(
    tmp_path: Path, v: RunningVenue, keys: dict[str, str], kinds: dict[str, str], extra: dict[str, str] | None = None
) -> Path:
    text = f'[venues.main]\nws = "{v.ws}"\nrest = "{v.rest}"\n'
    params = {"market-maker": '{ market = "BTC-PERP" }', "quoter": '{ market = "BTC-PERP", half_spread = 60 }'}
    for name, key in keys.items():
        text += f'\n[[strategies]]\nname = "{name}"\nstrategy = "{kinds[name]}"\nkeys = {{ main = "{key}" }}\n'
        text += f"params = {params[kinds[name]]}\n" + (extra or {}).get(name, "")
    path = tmp_path / "desk.toml"
    path.write_text(text)
    return path


def open_orders(v: RunningVenue, key: str) -> list[Any]:
    return list(rest(v, key, "/api/v1/orders"))


def test_a_killed_strategy_process_is_shown_dead_its_orders_cancelled_and_the_others_trade_on(
    venue: RunningVenue, tmp_path: Path
):
    keys = {
        "mm": register(venue.rest, "procs-mm"),
        "wide": register(venue.rest, "procs-wide"),
        "victim": key_without_cancel_on_disconnect(venue, "procs-victim"),
    }
    kinds = {"mm": "market-maker", "wide": "quoter", "victim": "quoter"}
    desk = Desk(desk_file(tmp_path, venue, keys, kinds), "--control", "0", "--mcp", "0", "--cancel-on-exit", "--quiet")
    try:
        wait_for("every strategy quoting", lambda: all(open_orders(venue, keys[n]) for n in ("mm", "wide", "victim")))

        # one plane over three processes: the same reads as in one process, each with its process
        status = desk.get("/v1/status")["strategies"]
        assert list(status) == ["mm", "wide", "victim"]
        pids = {n: s["process"]["pid"] for n, s in status.items()}
        assert len(set(pids.values())) == 3 and desk.proc.pid not in pids.values()
        for name, s in status.items():
            assert s["running"] and s["process"]["state"] == "running", name
            assert s["venues"]["venue"]["connected"] and s["venues"]["venue"]["limits"]["max_order_notional"]
        whose = lambda: {o["strategy"] for o in desk.get("/v1/orders")}  # noqa: E731
        wait_for("the quoters' orders listed", lambda: {"wide", "victim"} <= whose())
        assert whose() <= {"mm", "wide", "victim"}
        assert set(desk.get("/v1/pnl")["strategies"]) == {"mm", "wide", "victim"}
        assert set(desk.get("/v1/latency")) == set(desk.get("/v1/risk/events")) == {"mm", "wide", "victim"}
        assert {r["strategy"] for r in desk.get("/v1/view")["rows"]} == {"mm", "wide", "victim"}
        req = urllib.request.Request(desk.url + "/v1/snapshots", headers={"Authorization": f"Bearer {FULL}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            typed = msgspec.json.decode(r.read(), type=dict[str, AgentSnapshot])
        assert typed["victim"].strategy == "quoter" and typed["victim"].venues["venue"].open_orders

        # actions per strategy, refused ones as one line; the watcher reads only
        code, body = desk.post("/v1/kill", {}, token=RO)
        assert code == 403 and "read-only" in body["message"]
        code, body = desk.post("/v1/risk/limits", {"limits": {"max_order_notional": "a lot"}})
        assert code == 400 and "\n" not in body["message"]
        code, _ = desk.post("/v1/kill", {"strategy": "wide", "reason": "test"})
        assert code == 200
        wait_for("wide's orders cancelled at the venue", lambda: not open_orders(venue, keys["wide"]))
        risk = {n: s["venues"]["venue"]["risk_state"] for n, s in desk.get("/v1/status")["strategies"].items()}
        assert risk == {"mm": "active", "wide": "halted", "victim": "active"}
        assert desk.post("/v1/resume", {"strategy": "wide"})[0] == 200
        code, body = desk.post("/v1/strategy/params", {"strategy": "mm", "params": {"half_spread": 3}})
        assert code == 200 and body["half_spread"] == 3
        code, body = desk.post("/v1/risk/limits", {"limits": {"max_open_orders": 40}})  # every strategy
        assert code == 200 and {n: v["venue"]["max_open_orders"] for n, v in body.items()} == dict.fromkeys(keys, 40)

        # a new strategy is a new process, on its own sandbox account
        code, body = desk.post(
            "/v1/strategy/start", {"strategy": "new", "run": "quoter", "params": {"half_spread": 90}}
        )
        assert code == 200 and body["strategies"]["new"]["process"]["state"] == "running", body
        assert body["strategies"]["new"]["process"]["pid"] not in pids.values()
        assert desk.post("/v1/strategy/stop", {"strategy": "new"})[0] == 200

        # the MCP door over the same plane, with the SDK's own client
        async def over_mcp() -> dict[str, Any]:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"})
            async with http, Client(streamable_http_client(desk.mcp_url(), http_client=http)) as sup:
                got = await sup.call_tool("status", {})
                return dict(got.structured_content or {})

        assert set(asyncio.run(over_mcp())["strategies"]) == {"mm", "wide", "victim", "new"}

        # SIGKILL: nothing of the victim runs its own cleanup
        wait_for("the victim quoting again", lambda: open_orders(venue, keys["victim"]))
        os.kill(pids["victim"], signal.SIGKILL)
        dead = wait_for(
            "the plane showing the victim dead and swept",
            lambda: (
                (s := desk.get("/v1/status")["strategies"]["victim"])["process"]["state"] == "dead"
                and isinstance(s["process"]["death"]["orders"], dict)
                and s
            ),
        )
        assert open_orders(venue, keys["victim"]) == []  # its key has no cancel-on-disconnect: the desk did it
        swept = dead["process"]["death"]["orders"]["main"]
        assert swept["found_open"] > 0 and swept["left_open"] == 0, swept
        assert dead["process"]["death"]["exit"] == "killed by SIGKILL"
        assert not dead["running"] and dead["venues"]["venue"]["risk_state"] == "dead"
        assert not dead["venues"]["venue"]["connected"]
        assert any(a["action"] == "died" for a in desk.get("/v1/audit"))
        rows = {r["strategy"]: r for r in desk.get("/v1/view")["rows"]}
        assert rows["victim"]["risk_state"] == "dead" and rows["mm"]["risk_state"] == "active"
        code, body = desk.post("/v1/kill", {"strategy": "victim"})
        assert code == 400 and "victim" in body["message"] and "dead" in body["message"]

        # the others keep trading
        sent = rows["mm"]["sent_orders"]
        wait_for("mm trading on", lambda: desk.get("/v1/view")["rows"][0]["sent_orders"] > sent)
        assert desk.get("/v1/status")["strategies"]["wide"]["process"]["state"] == "running"
    finally:
        code, summary = desk.end(signal.SIGTERM)
    assert code == 5, "".join(desk.err)  # a strategy died while the desk ran
    assert any("strategy 'victim' died (killed by SIGKILL)" in ln for ln in desk.err)
    for name in ("mm", "wide"):
        s = summary["strategies"][name]
        assert s["open_orders"] == [] and open_orders(venue, keys[name]) == [], name
        assert s["fill_ids"] == s["venue_fill_ids"]["main"], name  # each account, fill for fill
    assert summary["strategies"]["new"]["process"]["state"] == "ended"
    victim = summary["strategies"]["victim"]
    assert victim["dead"]["orders"]["main"]["left_open"] == 0 and victim["process"]["state"] == "dead"


def test_ctrl_c_stops_every_strategy_process_with_its_orders_cancelled_and_journals_flushed(
    venue: RunningVenue, tmp_path: Path
):
    keys = {"mm": register(venue.rest, "procs-ctrlc-mm"), "wide": register(venue.rest, "procs-ctrlc-wide")}
    journals = tmp_path / "journals"
    desk = Desk(
        desk_file(tmp_path, venue, keys, {"mm": "market-maker", "wide": "quoter"}, {"wide": "nice = 5\n"}),
        "--control", "0", "--journal-dir", str(journals), "--quiet",
    )  # fmt: skip
    status = desk.get("/v1/status")["strategies"]
    pids = [s["process"]["pid"] for s in status.values()]
    # `nice = 5` on one entry: that process yields the CPU to the other (its niceness, shown in status)
    assert [s["process"]["nice"] for s in status.values()] == [0, 5]
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == [ours, min(19, ours + 5)]
    wait_for("both quoting", lambda: all(open_orders(venue, k) for k in keys.values()))
    code, summary = desk.end(signal.SIGINT)  # no --cancel-on-exit: Ctrl-C cancels regardless
    assert code == 130 and summary["exit_code"] == 130, "".join(desk.err)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for name, key in keys.items():
        assert open_orders(venue, key) == [], name
        venue_fills = sorted(f["fill_id"] for f in rest(venue, key, "/api/v1/fills"))
        assert sorted(f.fill_id for f in Journal.fills(journals / f"{name}.sqlite")) == venue_fills, name
        assert summary["strategies"][name]["fill_ids"] == venue_fills, name


def test_a_cpu_the_machine_lacks_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[venues.a]\nws = "ws://127.0.0.1:9/trading"\nrest = "http://127.0.0.1:9"\n'
        f'[[strategies]]\nname = "x"\nstrategy = "quoter"\nkeys = {{ a = "k" }}\ncpu = {os.cpu_count() or 1}\n'
    )
    assert main(["desk", str(bad)]) == 2
    assert "strategy 'x' could not start: cpu = " in one_line_error(capsys, "desk")
