"""Research before deploying, for the supervising agent: which strategies there are and what
they take, which data there is to backtest on, and backtests run away from the trading loop.

- `strategy_catalog()`: the shipped strategies with their typed parameters (`loader.describe`).
- `Research.datasets()`: the recorded data under the data folders, found by content
  (`market.feeds.discover`): shared captures, recordings (`agenthft record`'s Parquet), and the
  columnar cache's entries; each with its markets once decoded (the cache keeps them).
- `Research.backtest(spec)`: one run or a sweep (a list of values for a parameter), on a
  simulated scenario or on recorded data (`DataOptions`: every data flag of `agenthft backtest`),
  in a worker process (the agent's loop and its GIL keep trading), with progress reported as it
  goes; each run's summary and its results folder with `report.html`.

Workers are child processes (`python -m agenthft.control.research`, one at a time), never forks
of the trading agent: a job goes in as JSON, progress and the result come back as JSON lines.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

#: async (progress, total, message): an MCP progress notification, or nothing
Progress = Callable[[float, float, str], Awaitable[None]]
_RUN_FIELDS = {"strategy", "params", "data", "scenario", "seconds", "seed", "latency", "options", "risk"}


class ResearchError(ValueError):
    """A research request that cannot run (the message says which field and why)."""


async def _quiet(progress: float, total: float, message: str) -> None:
    return None


# --- strategies ---------------------------------------------------------------------------------
def strategy_catalog(extra: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each shipped strategy (and any `MODULE:CLASS` / `FILE.py:CLASS` in `extra`): its name, what
    it does, and its parameters (name, type, default, description)."""
    import sys

    from agenthft.strategies.loader import BUILTIN, describe, load_class

    classes = dict(BUILTIN) | {spec: load_class(spec) for spec in extra}
    out = []
    for name, cls in classes.items():
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or cls.__name__).strip()
        out.append(
            {
                "name": name,
                "summary": " ".join(doc.split("\n\n")[0].split()),
                "params": [msgspec.to_builtins(p) for p in describe(cls)],
            }
        )
    return out


# --- data -----------------------------------------------------------------------------------------
class DataSet(msgspec.Struct):
    """One backtestable (or not) set of recorded files."""

    id: str  # what `run_backtest` takes as `data`
    kind: str  # capture | recording | cached
    format: str  # the reader (binance, tardis, agenthft ...)
    files: list[str]
    backtestable: bool  # a row reader exists for the format (others are verified by replay only)
    markets: list[dict[str, Any]] | None = None  # None: not decoded yet
    rows: int | None = None
    seconds: float | None = None  # span of the local receive times
    note: str = ""


def _cached_info(path: Path) -> tuple[list[dict[str, Any]], int, float | None] | None:
    """Markets, rows and time span of an agenthft events Parquet file, from its metadata only."""
    import pyarrow.parquet as pq

    from agenthft.market.events import Meta

    try:
        pf = pq.ParquetFile(path)
        raw = (pf.schema_arrow.metadata or {}).get(b"agenthft.events")
        if raw is None:
            return None
        meta = msgspec.json.decode(raw, type=Meta)
        md = pf.metadata
        col = pf.schema_arrow.get_field_index("ts_local")
        lo: int | None = None
        hi: int | None = None
        for i in range(md.num_row_groups):
            st = md.row_group(i).column(col).statistics
            if st is not None and st.has_min_max:
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
    except (OSError, ValueError, msgspec.DecodeError):
        return None
    markets = [
        {"market": i.market, "aliases": list(i.aliases), "kind": i.kind.value, "tick_size": i.tick_size,
         "lot_size": i.lot_size}
        for i in meta.markets
    ]  # fmt: skip
    return markets, md.num_rows, None if lo is None or hi is None else round((hi - lo) / 1e9, 3)


class Research:
    """The data folders and the results folder a control plane researches with."""

    def __init__(
        self,
        data_dirs: Sequence[str | Path] = (),
        results_dir: str | Path = "results",
        cache_dir: str | Path | None = None,
    ) -> None:
        from agenthft.market.cache import default_dir

        self.data_dirs = [Path(d) for d in data_dirs]
        self.results_dir = Path(results_dir)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_dir()
        self._runs = itertools.count(1)
        self._one_at_a_time = asyncio.Semaphore(1)  # one worker: the trading loop keeps a core
        self._keys: dict[tuple[tuple[str, int, int], ...], str] = {}  # files (name, size, mtime) -> cache key

    # --- data ---------------------------------------------------------------------------------
    def datasets(self) -> list[DataSet]:
        """Every data set under the data folders (by content) and in the cache; markets, rows and
        span where the cache (or the recording itself) holds them. Decodes nothing; reads every
        file's head and hashes each capture once (call it off the trading loop: a thread)."""
        from agenthft.market.cache import content_key
        from agenthft.market.feeds import discover
        from agenthft.market.sources import event_formats

        readers = set(event_formats())
        out: list[DataSet] = []
        cached_keys: set[str] = set()
        for root in self.data_dirs:
            if not root.is_dir():
                continue
            for fmt, files in discover(root):
                rel = files[0].relative_to(root).as_posix()
                kind = "recording" if fmt == "agenthft" else "capture"
                ds = DataSet(self._unique(out, rel), kind, fmt, [str(f) for f in files], fmt in readers)
                if len(files) > 1:
                    ds.note = f"{len(files)} files of one market, chained in time"
                if ds.backtestable:
                    stamp = tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in files)
                    key = self._keys.get(stamp) or self._keys.setdefault(stamp, content_key(files, "load", None))
                    cached_keys.add(key)
                    where = files[0] if fmt == "agenthft" and len(files) == 1 else self.cache_dir / f"{key}.parquet"
                    info = _cached_info(where) if where.is_file() else None
                    if info is not None:
                        ds.markets, ds.rows, ds.seconds = info
                else:
                    ds.note = f"{fmt} captures are verified by `agenthft replay` but not decoded to rows"
                out.append(ds)
        if self.cache_dir.is_dir():
            for path in sorted(self.cache_dir.glob("*.parquet")):
                if path.stem in cached_keys:
                    continue  # listed above as the capture it was decoded from
                info = _cached_info(path)
                if info is None:
                    continue
                ds = DataSet(f"cache:{path.stem}", "cached", "agenthft", [str(path)], True)
                ds.markets, ds.rows, ds.seconds = info
                ds.note = "decoded rows in the columnar cache (their source files are elsewhere)"
                out.append(ds)
        return out

    @staticmethod
    def _unique(seen: list[DataSet], name: str) -> str:
        ids = {d.id for d in seen}
        if name not in ids:
            return name
        return next(f"{name}#{n}" for n in itertools.count(2) if f"{name}#{n}" not in ids)

    async def list_data(self, decode: bool = True, progress: Progress = _quiet) -> list[dict[str, Any]]:
        """`datasets()`, after decoding (once, into the cache, in a worker) every backtestable set
        whose markets are not known yet when `decode`."""
        sets = await asyncio.to_thread(self.datasets)  # file reads and hashing: off the trading loop
        todo = [d for d in sets if d.backtestable and d.markets is None]
        if decode and todo:
            async with self._one_at_a_time:
                for n, d in enumerate(todo):
                    await progress(n, len(todo), f"decoding {d.id} into the columnar cache (once)")
                    await self._in_worker("decode", {"files": d.files, "cache_dir": str(self.cache_dir)}, _quiet)
                await progress(len(todo), len(todo), "decoded")
            sets = await asyncio.to_thread(self.datasets)
        return [msgspec.to_builtins(d) for d in sets]

    def resolve(self, data: str | Sequence[str]) -> list[str]:
        """A data set's id (from `datasets`) or a list of files, as the files to load. Files must
        lie under a data folder or in the cache: the supervising agent reads no other file."""
        if isinstance(data, str):
            for d in self.datasets():
                if d.id == data:
                    if not d.backtestable:
                        raise ResearchError(f"data {data!r}: {d.note}")
                    return d.files
            paths = [data]
        else:
            paths = list(data)
        if not paths:
            raise ResearchError("'data' is empty: give a data set's id from list_data, or its files")
        roots = [Path(os.path.abspath(r)) for r in (*self.data_dirs, self.cache_dir)]
        for p in paths:
            full = Path(os.path.abspath(p))  # ".." folded; a symlink the operator put there is theirs
            if not any(full.is_relative_to(r) for r in roots):
                known = ", ".join(str(r) for r in self.data_dirs) or "none"
                raise ResearchError(
                    f"data {p!r} is neither a data set id (list_data) nor a file under the data folders ({known}) "
                    "or the cache"
                )
            if not full.is_file():
                raise ResearchError(f"no data file {p!r}")
        return [str(Path(p)) for p in paths]

    # --- backtests ------------------------------------------------------------------------------
    def plan(self, spec: dict[str, Any], default_strategy: str) -> list[dict[str, Any]]:
        """The runs of a backtest request, checked before any worker starts: every mistake (an
        unknown strategy or parameter, a bad latency, data flag or risk field) is one line here."""
        from agenthft.backtest import parse
        from agenthft.backtest.data import DataOptions
        from agenthft.market.sim.scenario import load_scenario, scenario_names
        from agenthft.risk import RiskConfig
        from agenthft.strategies.loader import StrategyError, build, load_class

        unknown = sorted(set(spec) - _RUN_FIELDS)
        if unknown:
            raise ResearchError(f"unknown field(s) {unknown}; a backtest takes {sorted(_RUN_FIELDS)}")
        name = spec.get("strategy") or default_strategy
        raw = spec.get("params") or {}
        if not isinstance(raw, dict):
            raise ResearchError("'params' must be an object of name -> value (a list of values: a sweep)")
        grid = {k: list(v) if isinstance(v, list) else [v] for k, v in raw.items()}
        if any(not v for v in grid.values()):
            raise ResearchError("a parameter's list of values is empty")
        combos = [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())]
        if len(combos) > 50:
            raise ResearchError(f"{len(combos)} runs in this sweep: at most 50 per request")
        try:
            cls = load_class(str(name))
            for params in combos:
                build(cls, params)
        except StrategyError as e:
            raise ResearchError(str(e)) from None
        latency = str(spec.get("latency") or "colocated")
        seed = spec.get("seed", 1)
        if not isinstance(seed, int):
            raise ResearchError("'seed' must be an integer")
        try:
            parse(latency, seed)
        except ValueError as e:
            raise ResearchError(str(e)) from None
        risk = spec.get("risk")
        if risk is not None:
            try:
                msgspec.convert(risk, RiskConfig, strict=False)
            except msgspec.ValidationError as e:
                raise ResearchError(f"risk: {e}") from None
        data = spec.get("data")
        scenario = spec.get("scenario")
        options: dict[str, Any] = {}
        files: list[str] = []
        if data is not None and scenario is not None:
            raise ResearchError("give 'data' (recorded, from list_data) or 'scenario' (simulated), not both")
        seconds = 0.0
        if data is not None:
            files = self.resolve(data)
            raw_opts = spec.get("options") or {}
            fields = set(DataOptions.__struct_fields__) - {"cache", "cache_dir"}
            if not isinstance(raw_opts, dict) or set(raw_opts) - fields:
                raise ResearchError(f"'options' takes {sorted(fields)}")
            try:
                opts = msgspec.convert(raw_opts | {"cache_dir": str(self.cache_dir)}, DataOptions, strict=False)
                opts.check()
            except (msgspec.ValidationError, ValueError) as e:
                raise ResearchError(f"options: {e}") from None
            options = msgspec.to_builtins(opts)
        else:
            scenario = scenario or "calm"
            try:
                load_scenario(str(scenario))
            except ValueError:
                raise ResearchError(f"no scenario {scenario!r}: one of {', '.join(scenario_names())}") from None
            seconds = float(spec.get("seconds", 10))
            if not 0 < seconds <= 3600:
                raise ResearchError("'seconds' (simulated) must be in (0, 3600]")
        folder = self.results_dir / "backtests" / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._runs)}"
        return [
            {
                "run": i,
                "strategy": str(name),
                "params": params,
                "data": files,
                "options": options,
                "scenario": scenario,
                "seconds": seconds,
                "latency": latency,
                "seed": seed,
                "risk": risk,
                "out": str(folder if len(combos) == 1 else folder / f"run-{i}"),
            }
            for i, params in enumerate(combos)
        ]

    async def backtest(
        self, spec: dict[str, Any], default_strategy: str, progress: Progress = _quiet
    ) -> dict[str, Any]:
        """Every run of `spec` in a worker, one after the other; progress in percent of all runs."""
        runs = await asyncio.to_thread(self.plan, spec, default_strategy)  # it may list the data
        out = []
        async with self._one_at_a_time:
            for job in runs:
                n = job["run"]

                async def step(frac: float, _total: float, message: str, n: int = n) -> None:
                    await progress(100 * (n + frac) / len(runs), 100, message)

                await step(0, 1, f"run {n + 1} of {len(runs)} started")
                out.append(await self._in_worker("backtest", job, step))
            await progress(100, 100, "done")
        folder = Path(runs[0]["out"]) if len(runs) == 1 else Path(runs[0]["out"]).parent
        return {"folder": str(folder), "runs": out}

    # --- the worker ---------------------------------------------------------------------------------
    async def _in_worker(self, kind: str, payload: dict[str, Any], progress: Progress) -> Any:
        """`python -m agenthft.control.research` in a child process: the job on its stdin, JSON
        lines back (progress, then the result or the error). Its stderr is kept, never shown: a
        failure is one line in the answer."""
        import sys

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agenthft.control.research",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        errors = asyncio.create_task(proc.stderr.read())
        try:
            proc.stdin.write(msgspec.json.encode({"kind": kind, "payload": payload}) + b"\n")
            await proc.stdin.drain()
            proc.stdin.close()
            while line := await proc.stdout.readline():
                msg = msgspec.json.decode(line)
                if "progress" in msg:
                    await progress(msg["progress"], 1.0, msg["message"])
                elif "done" in msg:
                    return msg["done"]
                else:
                    raise ResearchError(str(msg["error"]))
            await proc.wait()
            last = (await errors).decode(errors="replace").strip().splitlines()
            raise ResearchError(f"the worker ended without an answer (exit {proc.returncode}): "
                                f"{last[-1] if last else 'no output'}")  # fmt: skip
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            errors.cancel()


def _worker() -> None:
    """In the worker process: the job from stdin; progress, then the result or the error, as JSON
    lines on stdout."""
    import sys

    out = sys.stdout.buffer
    last = [0.0]

    def send(msg: dict[str, Any]) -> None:
        out.write(msgspec.json.encode(msg) + b"\n")
        out.flush()

    def progress(frac: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2:  # a few notifications a second at most
            last[0] = now
            send({"progress": frac, "message": message})

    try:
        job = msgspec.json.decode(sys.stdin.buffer.readline())
        payload = job["payload"]
        send({"done": _decode(payload) if job["kind"] == "decode" else _backtest(payload, progress)})
    except Exception as e:
        send({"error": f"{type(e).__name__}: {e}"})


def _decode(payload: dict[str, Any]) -> int:
    from agenthft.backtest.data import DataOptions

    return len(DataOptions(cache_dir=payload["cache_dir"]).load(payload["files"]))


def _backtest(job: dict[str, Any], progress: Callable[[float, str], None]) -> dict[str, Any]:
    from agenthft.backtest import Backtest, parse
    from agenthft.backtest.data import DataOptions
    from agenthft.risk import RiskConfig
    from agenthft.strategies.loader import build, load_class

    strategy = build(load_class(job["strategy"]), dict(job["params"]))
    latency = parse(job["latency"], seed=job["seed"])
    risk = msgspec.convert(job["risk"], RiskConfig, strict=False) if job["risk"] is not None else None
    if job["data"]:
        opts = msgspec.convert(job["options"], DataOptions)
        progress(0.0, "loading the data (the columnar cache, or decoding once)")
        bt: Any = opts.backtest(strategy, opts.load(job["data"]), latency, risk)
        what = "recorded time"
    else:
        bt = Backtest(strategy, job["scenario"], job["seconds"], latency, seed=job["seed"], risk=risk)
        what = "simulated time"
    results = bt.run(
        lambda done, total: progress(done / total if total else 1.0, f"{100 * done / total:.0f}% of {what}")
    )
    files = results.write(job["out"])
    return {
        "run": job["run"],
        "strategy": job["strategy"],
        "params": job["params"],
        "latency": job["latency"],
        "seed": job["seed"],
        "summary": msgspec.to_builtins(results.summary),
        "report": str(files[-1]),
        "files": [str(p) for p in files],
        "wall_s": round(results.wall_s, 3),
    }


if __name__ == "__main__":
    _worker()
