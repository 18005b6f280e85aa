"""The strategy processes of a desk: started together (`python -m agenthft.cli.desk_child`, one
per strategy, each in its own session so a terminal's Ctrl-C reaches only the desk, which then
stops each in turn), read once a second (each one's last snapshot outlives it), watched (one that
exits while the desk runs is dead: reported, and its orders swept off the venue), and stopped
together."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from agenthft.control.desk.link import ChildLink
from agenthft.control.desk.sweep import sweep
from agenthft.control.desk.wire import CHILD_MODULE, ChildConfig, Ended, Failed, Line, Ready
from agenthft.runtime.desk import DeskSpec, DeskStrategy
from agenthft.runtime.snapshot import AgentSnapshot

_LINE = msgspec.json.Decoder(Line)
LINE_LIMIT = 1 << 30  # bytes: a summary lists every fill id of the account (asyncio's default: 64 KiB)


class StartFailed(Exception):
    """A strategy process could not start: `code` is the exit code its failure means."""

    def __init__(self, name: str, code: int, message: str) -> None:
        super().__init__(f"strategy {name!r} could not start: {message}")
        self.name, self.code = name, code


def exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class StrategyProcess:
    """One strategy's process as the desk sees it: `state` is starting, running, stopping,
    ended (stopped by the desk) or dead (it exited on its own, or was killed)."""

    def __init__(self, strategy: DeskStrategy, config: ChildConfig) -> None:
        self.spec, self.name = strategy, strategy.name
        self.config = config
        self.state = "starting"
        self.proc: asyncio.subprocess.Process | None = None
        self.link: ChildLink | None = None
        self.last: AgentSnapshot | None = None  # the latest snapshot read: what is known after death
        self.ended: Ended | None = None
        self.death: dict[str, Any] | None = None
        self.answering = True  # its door answered the last read
        self.started_at = time.time()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    async def start(self, timeout_s: float = 60.0) -> None:
        """Spawn it, hand it its orders, and wait until it serves (or says why not)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", CHILD_MODULE, limit=LINE_LIMIT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(msgspec.json.encode(self.config))
        self.proc.stdin.close()
        try:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout_s)
        except TimeoutError:
            await self.kill()
            raise StartFailed(self.name, 4, f"its process did not serve within {timeout_s:.0f} s") from None
        if not raw:
            code = await self.proc.wait()
            self.state = "ended"
            raise StartFailed(self.name, 2, f"its process ended before serving ({exit_text(code)})")
        line = _LINE.decode(raw)
        if isinstance(line, Failed):
            await self.proc.wait()
            self.state = "ended"
            raise StartFailed(self.name, line.code, line.message)
        assert isinstance(line, Ready)
        self.link = ChildLink(self.name, line.url, self.config.token)
        self.state = "running"
        self._reader = asyncio.create_task(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            async for raw in self.proc.stdout:
                with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                    line = _LINE.decode(raw)
                    if isinstance(line, Ended):
                        self.ended = line
        except ValueError as e:  # a line past LINE_LIMIT: its summary is lost, not the desk
            print(f"agenthft desk: strategy {self.name!r}: unreadable summary ({e})", file=sys.stderr, flush=True)

    async def refresh(self) -> AgentSnapshot | None:
        """Its snapshot now (kept as `last`); None if it is not running or did not answer."""
        if self.state != "running" or self.link is None:
            return None
        try:
            self.last = (await self.link.snapshots())[self.name]
        except Exception:  # a busy or hung process: shown as not answering
            self.answering = False
            return None
        self.answering = True
        return self.last

    async def stop(self, interrupt: bool, timeout_s: float = 30.0) -> Ended | None:
        """SIGINT (cancel everything) or SIGTERM (the desk's end), then its summary line."""
        if self.proc is None or self.proc.returncode is not None:
            return self.ended
        self.state = "stopping"
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT if interrupt else signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            await self.kill()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.state = "ended"
        await self.close()
        return self.ended

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()

    def process(self) -> dict[str, Any]:
        """What the plane shows of the process itself."""
        out: dict[str, Any] = {"state": self.state, "pid": self.pid, "cpu": self.spec.cpu, "nice": self.spec.nice}
        if self.state == "running":
            out["answering"] = self.answering
        if self.proc is not None and self.proc.returncode is not None:
            out["exit"] = exit_text(self.proc.returncode)
        if self.death is not None:
            out["death"] = self.death
        return out


class Desk:
    """A desk's strategy processes by name: started together, watched, stopped together."""

    def __init__(
        self,
        spec: DeskSpec,
        journal_dir: str | None = None,
        out: str | None = None,
        cancel_on_exit: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.spec = spec
        self.venues = dict(spec.venues)
        self.options = (journal_dir, out, cancel_on_exit)  # ChildConfig's, for every process
        self.procs: dict[str, StrategyProcess] = {}
        self.on_death: list[Callable[[StrategyProcess], None]] = []  # the plane's audit
        self.say = say or (lambda text: print(f"agenthft desk: {text}", file=sys.stderr, flush=True))
        self._tasks: list[asyncio.Task[None]] = []  # one watcher per process
        self._beat: asyncio.Task[None] | None = None

    def _process(self, strategy: DeskStrategy) -> StrategyProcess:
        token = "desk_" + secrets.token_urlsafe(24)
        venues = {v: self.venues[v] for v in strategy.keys}
        return StrategyProcess(strategy, ChildConfig(venues, strategy, token, *self.options))

    async def start(self) -> None:
        """Every strategy's process, started at once; if one cannot start, the others are stopped
        (cancel-all) and the first failure in desk order is raised (`StartFailed`)."""
        procs = [self._process(s) for s in self.spec.strategies]
        self.procs = {p.name: p for p in procs}
        results = await asyncio.gather(*(p.start() for p in procs), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await self.stop(interrupt=True)
            raise failed[0]
        for p in procs:
            self._watch(p)
        self._beat = asyncio.create_task(self._heartbeat())

    async def add(self, strategy: DeskStrategy) -> StrategyProcess:
        """One more strategy process on the running desk (the supervisor's deploy)."""
        if strategy.name in self.procs:
            raise ValueError(f"a strategy named {strategy.name!r} exists")
        p = self._process(strategy)
        await p.start()
        self.procs[p.name] = p
        self._watch(p)
        await p.refresh()
        return p

    def running(self) -> dict[str, StrategyProcess]:
        return {n: p for n, p in self.procs.items() if p.state == "running"}

    def _watch(self, p: StrategyProcess) -> None:
        async def watch() -> None:
            assert p.proc is not None
            code = await p.proc.wait()
            if p.state == "running":  # not stopped by the desk: it died
                await self._died(p, code)

        self._tasks.append(asyncio.create_task(watch()))

    async def _died(self, p: StrategyProcess, code: int) -> None:
        p.state = "dead"
        p.death = {"at": time.time(), "exit": exit_text(code), "orders": "being cancelled at the venue"}
        self.say(f"strategy {p.name!r} died ({exit_text(code)}); cancelling its orders at the venue")
        for hook in self.on_death:
            hook(p)
        swept = await sweep(self.venues, p.spec.keys)
        p.death["orders"] = swept
        await p.close()
        told = ", ".join(
            f"{v}: {r['error']}" if "error" in r else f"{v}: {r['found_open']} open, {r['left_open']} left"
            for v, r in swept.items()
        )
        self.say(f"strategy {p.name!r}: its orders at the venue after the sweep: {told}")

    async def _heartbeat(self, every_s: float = 1.0) -> None:
        """Each running strategy's snapshot once a second: a dead one's last state is known."""
        while True:
            await asyncio.gather(*(p.refresh() for p in self.running().values()))
            await asyncio.sleep(every_s)

    async def stop(self, interrupt: bool) -> dict[str, Ended | None]:
        """Stop every process (SIGINT on an interrupt: each cancels everything first), wait for a
        dead one's sweep to finish, and return each one's summary line."""
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        ended = await asyncio.gather(*(p.stop(interrupt) for p in self.procs.values()))
        await asyncio.gather(*self._tasks, return_exceptions=True)  # watchers end with their process (and a sweep)
        return dict(zip(self.procs, ended, strict=True))
