"""`agenthft desk FILE.toml`, a desk of processes (the default): each strategy in its own process
(cli/desk_child.py), one control plane here over them (control/desk/), the same doors, dashboard
and results folder as the desk in one process (`--in-process`, cli/desk.py)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from agenthft.cli.errors import CliError, Exit, end_codes, worst
from agenthft.runtime.desk import DeskSpec


async def run_process_desk(args: argparse.Namespace, spec: DeskSpec) -> tuple[dict[str, Any], Exit]:
    from agenthft.cli.run import _seat, risk_text, run_until
    from agenthft.control.desk import Desk, DeskPlane, StartFailed
    from agenthft.strategies.loader import build, load_class

    for s in spec.strategies:  # a bad parameter is one line before any process starts
        build(load_class(s.strategy), dict(s.params))
    if args.journal_dir:
        Path(args.journal_dir).mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    desk = Desk(spec, args.journal_dir, args.out, args.cancel_on_exit)
    try:
        await desk.start()  # a Ctrl-C meanwhile is honoured once every process answered
    except StartFailed as e:
        raise CliError(Exit(e.code), str(e)) from None
    if not args.quiet:
        pids = ", ".join(f"{n} (pid {p.pid})" for n, p in desk.procs.items())
        print(f"agenthft desk: {pids} running, each in its own process", file=sys.stderr, flush=True)
        for s in spec.strategies:
            where = f"{args.desk} [strategies.risk]" if s.risk else None
            print(f"agenthft desk: {s.name}: {risk_text(s.risk_config(), where, s.no_limits)}", file=sys.stderr)
    plane = DeskPlane(desk)
    closers, _ = await _seat(plane, args, stop)
    await run_until(stop, args.duration)
    await closers[0]()
    ends = await desk.stop(interrupt=interrupted)
    summary: dict[str, Any] = {"strategies": {}}
    codes = set()
    files: dict[str, Any] = {}
    for name, p in desk.procs.items():
        end = ends.get(name)
        entry = dict(end.summary) if end is not None else _dead(p)
        if "files" in entry:
            files[name] = entry.pop("files")
        summary["strategies"][name] = entry | {"process": p.process()}
        codes.add(Exit.STRATEGY_DIED if p.death is not None else Exit(end.code) if end is not None else Exit.OK)
    for close in closers[1:]:
        await close()
    if args.out:
        from agenthft.report import build_index

        summary["files"] = files | {"index": [str(build_index(args.out, f"live: desk {args.desk}"))]}
    code = worst(codes | end_codes(interrupted, False, False))
    summary["exit_code"] = int(code)
    return summary, code


def _dead(p: Any) -> dict[str, Any]:
    """What is known of a strategy whose process died: its last snapshot's figures and what each
    venue lists for its account after the sweep."""
    death = p.death or {}
    orders = death.get("orders")
    swept: dict[str, Any] = orders if isinstance(orders, dict) else {}
    out: dict[str, Any] = {
        "strategy": p.spec.strategy,
        "dead": death,
        "venue_fill_ids": {v: r["venue_fill_ids"] for v, r in swept.items() if "venue_fill_ids" in r},
    }
    if p.last is not None:
        snaps = p.last.venues.values()
        out["last_seen"] = {
            "fills": sum(s.fills for s in snaps),
            "positions": {m: q for s in snaps for m, q in s.positions.items()},
            "open_orders": [o for s in snaps for o in s.open_orders],
        }
    return out
