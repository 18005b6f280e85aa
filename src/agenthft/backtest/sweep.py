"""A grid of backtests (parameters x latencies x seeds) in parallel processes, one table out.

On the simulator (`scenario`) or on recorded data (`data`: decoded once into the columnar cache
before the workers start, so no worker parses a capture). Local processes by default; a Ray
cluster (`ray_address`: "auto" or an address; the optional `agenthft[ray]` extra) runs the same
`run_one` remotely when one machine is not enough.

Each run is a `RunSpec` (plain data, so it crosses process boundaries); a run is deterministic,
so the table is the same whatever the number of workers or their order (rows are sorted by the
grid's order before writing).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from agenthft.backtest.data import DataOptions
from agenthft.market.events import Events
from agenthft.risk import RiskConfig


class RunSpec(msgspec.Struct, frozen=True):
    index: int
    strategy: str  # NAME | MODULE:CLASS | FILE.py:CLASS
    params: dict[str, Any]
    scenario: str
    seconds: float
    latency: str
    seed: int
    data: tuple[str, ...] = ()  # recorded files (then `scenario` is ignored)
    options: DataOptions = DataOptions()  # how the data is read and traded (the backtest's data flags)
    risk: RiskConfig | None = None  # every run's thresholds (None: RiskConfig's defaults)


def grid(
    strategy: str,
    scenario: str,
    seconds: float,
    params: Mapping[str, Sequence[Any]],
    latencies: Sequence[str],
    seeds: Sequence[int],
    data: Sequence[str] = (),
    options: DataOptions | None = None,
    risk: RiskConfig | None = None,
) -> list[RunSpec]:
    """Every combination, in a stable order."""
    names = sorted(params)
    combos = list(itertools.product(*(params[n] for n in names))) or [()]
    specs: list[RunSpec] = []
    for combo, latency, seed in itertools.product(combos, latencies, seeds):
        p = dict(zip(names, combo, strict=True))
        specs.append(
            RunSpec(
                len(specs), strategy, p, scenario, seconds, latency, seed, tuple(data), options or DataOptions(), risk
            )
        )
    return specs


#: the rows of the capture this process read last: a sweep's runs on one capture share them, not
#: read once per run (reading the columnar cache was half of a run on the USD-M capture); forked
#: workers start with the parent's. A backtest only reads them. One capture at a time: a sweep
#: over many does not pile them up (a Ray worker, reused across sweeps, keeps its last one).
_loaded: dict[tuple[tuple[str, ...], DataOptions], Events] = {}


def rows_of(data: tuple[str, ...], options: DataOptions) -> Events:
    key = (tuple(data), options)
    events = _loaded.get(key)
    if events is None:
        _loaded.clear()
        events = _loaded[key] = options.load(data)
    return events


def run_one(spec: RunSpec) -> dict[str, Any]:
    """One backtest; its summary as a flat row (parameters prefixed `param_`)."""
    from agenthft.backtest import Backtest, parse
    from agenthft.strategies.loader import build, load_class

    strategy = build(load_class(spec.strategy), dict(spec.params))
    latency = parse(spec.latency, seed=spec.seed)
    risk = spec.risk
    if spec.data:
        events = rows_of(spec.data, spec.options)
        results = spec.options.backtest(strategy, events, latency, risk).run()
    else:
        results = Backtest(strategy, spec.scenario, spec.seconds, latency, seed=spec.seed, risk=risk).run()
    row: dict[str, Any] = {"run": spec.index, "latency": spec.latency, "seed": spec.seed}
    row |= {f"param_{k}": v for k, v in spec.params.items()}
    summary = msgspec.to_builtins(results.summary)
    for k, v in summary.items():
        if k not in ("latency", "seed"):
            row[k] = v if not isinstance(v, dict) else msgspec.json.encode(v).decode()
    return row


def sweep(
    specs: Sequence[RunSpec],
    jobs: int = 0,
    ray_address: str | None = None,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every spec; `jobs` worker processes (0: one per CPU; 1: in this process), or on Ray.
    `progress` is called once per finished run (in this process). Interrupted (Ctrl-C), the
    workers are stopped at once, not left to finish."""
    rows: list[dict[str, Any]] = []
    try:
        for data, options in {(s.data, s.options) for s in specs if s.data}:
            rows_of(data, options)  # decoded once, here: forked workers start with the rows, others read the cache
        done = progress or (lambda: None)
        if ray_address is not None:
            rows = _on_ray(specs, ray_address, done)
        elif jobs == 1 or len(specs) <= 1:
            for s in specs:
                rows.append(run_one(s))
                done()
        else:
            rows = _in_processes(specs, jobs, done)
    finally:
        _loaded.clear()  # not kept after the sweep (a long-lived process runs many)
    return sorted(rows, key=lambda r: r["run"])


def _in_processes(specs: Sequence[RunSpec], jobs: int, done: Callable[[], None]) -> list[dict[str, Any]]:
    """The runs in worker processes. Ctrl-C (SIGINT) is taken as a flag while they run and acted
    on between waits: the workers are killed and KeyboardInterrupt raised here, never inside the
    pool's own locked sections (one left held there made the pool's shutdown wait forever)."""
    import multiprocessing
    import signal
    import threading
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctrl_c = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: ctrl_c.set()) if main_thread else None
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=jobs or None, initializer=_worker_ignores_sigint)
    stopped = True  # the workers are killed unless every run finished
    try:
        pending = {pool.submit(run_one, s) for s in specs}
        rows = []
        while pending and not ctrl_c.is_set():
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in finished:
                rows.append(f.result())
                done()
        stopped = bool(pending)
    finally:
        if stopped:  # Ctrl-C or a failed run: the other runs are not waited for
            for worker in set(multiprocessing.active_children()) - before:  # this pool's workers
                worker.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if ctrl_c.is_set():
        raise KeyboardInterrupt
    return rows


def _worker_ignores_sigint() -> None:
    """A terminal's Ctrl-C reaches every process of the group: the workers leave it to the
    parent, which stops them (no traceback from each worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _on_ray(specs: Sequence[RunSpec], address: str, done: Callable[[], None]) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install 'agenthft[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(run_one)
        pending = [remote.remote(s) for s in specs]
        rows = []
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            rows.append(ray.get(ready[0]))
            done()
        return rows
    finally:
        if started:
            ray.shutdown()


def write(rows: list[dict[str, Any]], path: str | Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out, compression="zstd")
    return out
