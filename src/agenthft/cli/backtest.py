"""`agenthft backtest STRATEGY ...`: the strategy on a simulated clock, far faster than real time."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from agenthft.cli.errors import CliError, Exit
from agenthft.cli.run import add_risk_args, add_strategy_args, fixed_params, risk_config, strategy_from_args

if TYPE_CHECKING:
    from agenthft.backtest.data import DataBacktest, DataOptions


def cmd_backtest(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from agenthft.backtest import Backtest, parse
    from agenthft.progress import Progress

    if bool(args.sim) == bool(args.data):
        raise CliError(Exit.USAGE, "give either --sim SCENARIO (a simulated market) or --data FILE... (recorded)")
    try:
        latency = parse(args.latency, seed=args.seed if args.seed is not None else 7)
    except ValueError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    strategy = strategy_from_args(args)
    bt: Backtest | DataBacktest
    if args.data:
        bt = _data_backtest(args, strategy, latency)
        seconds = (bt.end_ns - bt.start_ns) / 1e9
        span = f"{seconds:,.1f} s recorded"
    else:
        bt = Backtest(
            strategy, args.sim, args.duration, latency, seed=args.seed, risk=risk_config(args.risk, args.no_limits)
        )
        seconds = args.duration
        span = f"{args.duration:g} s"
    if not args.json:
        from agenthft.cli.run import risk_text
        from agenthft.runtime.multi import sessions

        assert bt.runner is not None
        config = next(iter(sessions(bt.runner).values())).risk.config
        print(f"agenthft backtest: {risk_text(config, args.risk, args.no_limits)}", file=sys.stderr)
    what = "replaying the recorded market" if args.data else f"simulating {args.sim}"
    with Progress("agenthft backtest", what, seconds, unit="s of market time") as bar:
        results = bt.run(lambda now, end: bar.update(now / 1e9, end / 1e9))
    written = results.write(args.out) if args.out else []
    summary = msgspec.to_builtins(results.summary)
    speed = {"wall_s": round(results.wall_s, 3), "events_per_s": round(results.events_per_s)}
    if args.json:
        print(json.dumps({"summary": summary, **speed, "files": [str(p) for p in written]}))
        return 0
    table = Table(title=f"{summary['strategy']} on {summary['scenario']} (seed {summary['seed']}), {span}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        if k not in ("strategy", "scenario", "seed", "seconds"):
            table.add_row(k, f"{v:,.4f}" if isinstance(v, float) else str(v))
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    print(f"{summary['events']:,} events in {results.wall_s:.2f} s ({results.events_per_s:,.0f} events/s)")
    for p in written:
        print(f"wrote {p}")
    return 0


def data_options(args: argparse.Namespace) -> DataOptions:
    """The data flags (`add_data_args`) as `DataOptions`, checked: a bad one is a usage error."""
    from agenthft.backtest.data import DataOptions

    missing = [f for f in args.data or () if not Path(f).is_file()]
    if missing:
        raise CliError(Exit.USAGE, f"no data file {missing[0]!r}")
    if args.instrument and not Path(args.instrument).is_file():
        raise CliError(Exit.USAGE, f"no instrument file {args.instrument!r}")
    opts = DataOptions(args.queue, args.fees, args.instrument, args.funding, args.ts_unit, not args.no_cache)
    try:
        opts.check()
    except ValueError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    return opts


def _data_backtest(args: argparse.Namespace, strategy: Any, latency: Any) -> DataBacktest:
    from agenthft.market.events import CaptureFormatError
    from agenthft.progress import loading

    opts = data_options(args)
    try:
        with loading("agenthft backtest", args.data):
            events = opts.load(args.data)
        return opts.backtest(strategy, events, latency, risk_config(args.risk, args.no_limits))
    except CaptureFormatError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    except ValueError as e:  # a strategy market the data does not have, or bad fees
        raise CliError(Exit.USAGE, f"{e}") from None


def add_data_args(parser: Any) -> None:
    """How recorded data (--data) is read and traded: the same flags for backtest and sweep."""
    parser.add_argument(
        "--queue",
        default="proportional",
        help="L2 queue model for --data: pessimistic | proportional | power2 | power3 | optimistic",
    )
    parser.add_argument(
        "--fees", default="0.0002,0.0005", help="MAKER,TAKER fractions for --data (negative maker = rebate)"
    )
    parser.add_argument(
        "--instrument", metavar="FILE", help="grid and contract for --data (exchangeInfo JSON or TOML [[markets]])"
    )
    parser.add_argument(
        "--funding",
        metavar="RATE[@HOURS]",
        help="charge perp positions RATE every HOURS (default 8) at the mark, for data without funding of its own",
    )
    parser.add_argument(
        "--ts-unit", choices=("s", "ms", "us", "ns"), help="unit of the data's local timestamps, when it cannot tell"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="decode --data again instead of using the Parquet cache"
    )


def add_parser(sub: Any) -> None:
    bt = sub.add_parser("backtest", help="run a strategy on a simulated clock (docs/backtest.md)")
    add_strategy_args(bt)
    from agenthft.market.sim.scenario import scenario_names

    bt.add_argument("--sim", help=f"scenario: {', '.join(scenario_names())} or a .toml path (docs/market.md)")
    bt.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="recorded data (any format `agenthft replay` reads; cached as Parquet)",
    )
    add_data_args(bt)
    bt.add_argument("--duration", type=float, default=60.0, help="simulated seconds")
    bt.add_argument("--seed", type=int, help="the scenario's seed (default: the scenario's own)")
    bt.add_argument(
        "--latency",
        default="colocated",
        help="colocated | metal | vps | vps-remote | serverless (the article's tiers) or FEED_US,ORDER_US,RESPONSE_US",
    )
    add_risk_args(bt)
    bt.add_argument("--out", help="write events.parquet, equity.parquet and summary.json here")
    bt.add_argument("--json", action="store_true", help="print the summary as JSON")
    bt.set_defaults(func=cmd_backtest)


def cmd_sweep(args: argparse.Namespace) -> int:
    from agenthft.backtest.sweep import grid, sweep, write
    from agenthft.progress import Progress, loading
    from agenthft.strategies.loader import load_class

    load_class(args.strategy)  # a wrong name fails here, not in a worker
    opts = data_options(args)
    risk = risk_config(args.risk, args.no_limits)  # a bad risk file fails here, not in a worker
    fixed = fixed_params(args)
    params: dict[str, list[Any]] = {k: [v] for k, v in fixed.items()}
    for item in args.grid or []:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise CliError(Exit.USAGE, f"--grid takes NAME=V1,V2,..., got {item!r}")
        params[name] = values.split(",")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise CliError(Exit.USAGE, f"--seeds takes integers, got {args.seeds!r}") from None
    if bool(args.sim) == bool(args.data):
        raise CliError(Exit.USAGE, "give either --sim SCENARIO or --data FILE...")
    specs = grid(
        args.strategy,
        args.sim or "",
        args.duration,
        params,
        args.latency.split(";"),
        seeds,
        args.data or (),
        opts,
        risk,
    )
    if args.data:  # decoded once, before the workers start (they read the cache)
        with loading("agenthft sweep", args.data):
            opts.load(args.data)
    try:
        with Progress("agenthft sweep", "backtests", len(specs)) as bar:
            rows = sweep(specs, args.jobs, args.ray, progress=bar.advance)
    except RuntimeError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    path = write(rows, args.out)
    if args.json:
        print(json.dumps({"runs": len(rows), "table": str(path), "rows": rows}))
    else:
        print(f"{len(rows)} backtests -> {path}")
        for r in rows:
            params_text = " ".join(f"{k[6:]}={v}" for k, v in r.items() if k.startswith("param_"))
            print(f"  {r['latency']:>14} seed {r['seed']:<3} {params_text:30} pnl {r['pnl_after_fees']:+.4f}")
    return 0


def add_sweep_parser(sub: Any) -> None:
    sw = sub.add_parser("sweep", help="a grid of backtests (parameters x latencies x seeds) in parallel processes")
    add_strategy_args(sw)
    sw.add_argument("--sim", help="scenario")
    sw.add_argument("--data", nargs="+", metavar="FILE", help="recorded data instead of a scenario")
    add_data_args(sw)
    add_risk_args(sw)
    sw.add_argument("--ray", metavar="ADDRESS", help="run on Ray: 'local' (start one here), 'auto' or an address")
    sw.add_argument("--duration", type=float, default=30.0, help="simulated seconds per run")
    sw.add_argument("--grid", action="append", metavar="NAME=V1,V2", help="a parameter's values (repeatable)")
    sw.add_argument("--latency", default="colocated", help="latencies separated by ';' (presets or F,O,R)")
    sw.add_argument("--seeds", default="1", help="seeds, comma-separated")
    sw.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per CPU, 1: none)")
    sw.add_argument("--out", default="sweep.parquet", help="the results table (Parquet)")
    sw.add_argument("--json", action="store_true", help="print the rows as JSON")
    sw.set_defaults(func=cmd_sweep)
