"""`agenthft experiment NAME`: the article's claims, reproduced as a sweep + a plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agenthft.cli.errors import CliError, Exit

NAMES = ("latency-claim", "spoof-fading")


def cmd_experiment(args: argparse.Namespace) -> int:
    from agenthft import experiments as ex
    from agenthft.progress import Progress

    out = Path(args.out)
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    except ValueError:
        raise CliError(Exit.USAGE, f"--seeds takes comma-separated integers, got {args.seeds!r}") from None
    who = f"agenthft experiment {args.name}"
    if args.name == "latency-claim":
        seeds = seeds or [4, 5, 6]
        with Progress(who, "backtests", len(ex.LATENCIES_US) * len(seeds)) as p:
            rows = ex.latency_claim(seeds=seeds, seconds=args.seconds or 20.0, jobs=args.jobs, progress=p.advance)
        png = ex.plot_latency_claim(rows, out / "latency_claim.png")
    elif args.name == "spoof-fading":
        seeds = seeds or [1, 2, 3]
        with Progress(who, "backtests", 2 * len(seeds)) as p:
            rows = ex.spoof_fading(seeds=seeds, seconds=args.seconds or 30.0, progress=p.advance)
        png = ex.plot_spoof_fading(rows, out / "spoof_fading.png")
    else:
        raise CliError(Exit.USAGE, f"unknown experiment {args.name!r}: one of {', '.join(NAMES)}")
    table = ex.write(args.name.replace("-", "_"), rows, out)
    if args.json:
        print(json.dumps({"rows": rows, "plot": png, "table": str(table)}))
    else:
        print(f"{len(rows)} runs -> {table}, plot {png}")
    return 0


def add_parser(sub: Any) -> None:
    ex = sub.add_parser("experiment", help="the article's claims as sweeps with a plot (docs/strategies.md)")
    ex.add_argument("name", choices=NAMES, help="latency-claim | spoof-fading")
    ex.add_argument("--out", default="results", help="folder for the JSON table and the PNG")
    ex.add_argument("--seeds", help="comma-separated seeds (default: the documented ones)")
    ex.add_argument("--seconds", type=float, help="simulated seconds per run")
    ex.add_argument("--jobs", type=int, default=0, help="worker processes for sweeps (0: one per CPU)")
    ex.add_argument("--json", action="store_true", help="print the rows as JSON")
    ex.set_defaults(func=cmd_experiment)
