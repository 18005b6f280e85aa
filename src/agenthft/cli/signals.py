"""`agenthft signals eval | scan`: the detectors scored on the simulator, and run on real captures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from agenthft.cli.errors import CliError, Exit


def cmd_eval(args: argparse.Namespace) -> int:
    from agenthft.lab.signal_eval import evaluate, evaluate_queue
    from agenthft.progress import Progress
    from agenthft.signals.config import load_config

    cfg = load_config(args.config)
    calm_too = args.scenario != "calm"
    with Progress("agenthft signals eval", "simulated runs", args.seeds * (1 + calm_too) + 1) as bar:
        report = evaluate(args.scenario, args.seeds, args.seconds, args.tolerance_ms, cfg, bar.advance)
        calm = evaluate("calm", args.seeds, args.seconds, args.tolerance_ms, cfg, bar.advance) if calm_too else report
        queue = evaluate_queue(args.scenario, 1, args.seconds)
        bar.advance()
    if args.json:
        out = {"report": report, "calm_false_alarms_per_hour": {s.kind: s.false_alarms_per_hour for s in calm.scores}}
        print(msgspec.json.encode({**out, "queue": queue}).decode())
        return 0
    console = Console(width=None if sys.stdout.isatty() else 160)
    t = Table(title=f"detectors on {report.scenario}: {len(report.seeds)} seeds x {args.seconds:g} s, "
              f"tolerance {report.tolerance_ms:g} ms")  # fmt: skip
    for col in ("detector", "episodes", "detections", "precision", "recall", "false alarms/h on calm"):
        t.add_column(col, justify="left" if col == "detector" else "right")
    fa = {s.kind: s.false_alarms_per_hour for s in calm.scores}
    for s in report.scores:
        t.add_row(
            s.kind,
            str(s.episodes),
            str(s.detections),
            "-" if s.precision is None else f"{s.precision:.3f}",
            "-" if s.recall is None else f"{s.recall:.3f}",
            f"{fa[s.kind]:.1f}",
        )
    console.print(t)
    q = Table(title=f"queue position of the probe's orders vs the engine's true queue ({args.scenario}, seed 1)")
    for col in ("cancel model", "samples", "MAE (lots)", "orders", "fill called right"):
        q.add_column(col, justify="left" if col == "cancel model" else "right")
    for qs in queue:
        q.add_row(qs.model, f"{qs.samples:,}", f"{qs.mae_lots:.3f}", str(qs.orders), f"{qs.fill_predicted_right:.1%}")
    console.print(q)
    console.print(f"{report.deltas:,} level changes and {report.trades:,} trades in {report.wall_s:.1f} s")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from agenthft.lab.signal_scan import scan_binance, scan_books
    from agenthft.market.feeds import detect_format
    from agenthft.market.feeds.binance import chain_files
    from agenthft.signals.config import load_config

    cfg = load_config(args.config)
    formats = {f: detect_format(f) for f in args.files}
    unsupported = [f for f, fmt in formats.items() if fmt not in ("binance", "okx", "kraken")]
    if unsupported:
        raise CliError(Exit.USAGE, f"{unsupported[0]}: signals scan reads Binance, OKX and Kraken captures")
    binance_files = [f for f, fmt in formats.items() if fmt == "binance"]
    reports = [scan_binance(files, cfg, args.examples) for files in chain_files(binance_files)]
    reports += [scan_books(f, fmt, cfg, args.examples) for f, fmt in formats.items() if fmt in ("okx", "kraken")]
    if args.json:
        print(msgspec.json.encode(reports).decode())
        return 0
    for r in reports:
        print(f"{r.market}: {r.deltas:,} level changes, {r.trades:,} trades in {r.seconds:.1f} s: {r.counts}")
        for e in r.examples:
            x = r.readable(e)
            print(f"  {e.kind:15} {e.side.value:4} @ {x['price']:>12} at {x['time']} UTC, {x['value']} -> {e.response}")
    return 0


def add_parser(sub: Any) -> None:
    sig = sub.add_parser("signals", help="microstructure detectors: score on the simulator, scan real captures")
    ssub = sig.add_subparsers(dest="signals_command", required=True, metavar="SUBCOMMAND", help="eval | scan")
    ev = ssub.add_parser("eval", help="precision/recall against the simulator's labels, queue estimate errors")
    ev.add_argument("--scenario", default="manipulated", help="scenario with labelled manipulators")
    ev.add_argument("--seeds", type=int, default=5, help="seeded runs to pool")
    ev.add_argument("--seconds", type=float, default=60.0, help="simulated seconds per run")
    ev.add_argument("--tolerance-ms", type=float, default=50.0, help="a detection may fall this far outside an episode")
    ev.add_argument("--config", help="thresholds (TOML, fields of SignalConfig; docs/signals.md)")
    ev.add_argument("--json", action="store_true", help="as JSON")
    ev.set_defaults(func=cmd_eval)
    sc = ssub.add_parser("scan", help="run the detectors over recorded captures: counts and examples")
    sc.add_argument("files", nargs="+", help="Binance, OKX or Kraken captures (a market's files are chained)")
    sc.add_argument("--examples", type=int, default=3, help="examples per detector")
    sc.add_argument("--config", help="thresholds (TOML, fields of SignalConfig)")
    sc.add_argument("--json", action="store_true", help="as JSON")
    sc.set_defaults(func=cmd_scan)
