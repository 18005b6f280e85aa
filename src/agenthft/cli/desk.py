"""`agenthft desk FILE.toml`: several strategies at once, each its own agent (its own keys),
under one control plane (HTTP, MCP), one dashboard and one results folder (runtime/desk.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agenthft.cli.errors import CliError, Exit, end_codes, start_failure, stop_on_signals, worst

if TYPE_CHECKING:
    from agenthft.runtime.closing import Ending


async def run_desk(args: argparse.Namespace) -> tuple[dict[str, Any], Exit]:
    from agenthft.cli.run import _seat, run_until
    from agenthft.runtime.closing import close
    from agenthft.runtime.desk import build_desk, load_desk
    from agenthft.runtime.multi import sessions

    try:
        spec = load_desk(args.desk)
    except ValueError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    if not args.in_process:
        from agenthft.cli.desk_procs import run_process_desk

        return await run_process_desk(args, spec)
    if args.journal_dir:
        Path(args.journal_dir).mkdir(parents=True, exist_ok=True)
    if any(s.cpu is not None for s in spec.strategies):
        print("agenthft desk: `cpu` pins a strategy's own process: ignored with --in-process", file=sys.stderr)
    agents = build_desk(spec, args.journal_dir)
    stop = asyncio.Event()
    interrupted = stop_on_signals(stop)  # Ctrl-C: every order cancelled, exit 130
    started: list[Any] = []
    for name, agent in agents.items():
        try:
            await agent.start()
        except Exception as e:
            for a in started:
                await a.stop(cancel_orders=True)
            urls = " or ".join(r.port.url for r in sessions(agent).values())  # several venues: one of them
            failure = start_failure(e, urls)
            if not isinstance(failure, CliError):
                raise
            raise CliError(failure.code, f"strategy {name!r} could not start: {failure}") from None
        started.append(agent)
    if not args.quiet:
        from agenthft.cli.run import risk_text

        print(f"agenthft desk: {', '.join(agents)} running", file=sys.stderr, flush=True)
        for s in spec.strategies:
            where = f"{args.desk} [strategies.risk]" if s.risk else None
            print(f"agenthft desk: {s.name}: {risk_text(s.risk_config(), where, s.no_limits)}", file=sys.stderr)
    closers, recording = await _seat(agents, args, stop)
    await run_until(stop, args.duration)
    cancel = args.cancel_on_exit or interrupted()
    write = (lambda: recording.write(args.out, f"live: desk {args.desk}")) if recording is not None else None
    ends, files = await close(agents, cancel, closers, write)
    summary: dict[str, Any] = {"strategies": {}}
    codes = end_codes(interrupted(), False, False)
    for s in spec.strategies:  # each venue's own account of each strategy's fills
        end = ends[s.name]
        summary["strategies"][s.name] = end.summary | {"venue_fill_ids": venue_fills(s, end)}
        for venue, why in end.errors.items():
            summary[f"venue_error_{s.name}_{venue}"] = why
        codes |= end_codes(False, end.halted, bool(end.errors))
    if files is not None:
        summary["files"] = {n: [str(p) for p in f] for n, f in files.items()}
    code = worst(codes)
    summary["exit_code"] = int(code)
    return summary, code


def venue_fills(strategy: Any, end: Ending) -> dict[str, list[int]]:
    """Each venue's own record of a desk strategy's fills, by the desk's venue name (a
    strategy on one venue has one session, `venue`: named by its key's venue)."""
    return {
        (venue if venue in strategy.keys else next(iter(strategy.keys))): side["venue_fill_ids"]
        for venue, side in end.venues.items()
    }


def cmd_desk(args: argparse.Namespace) -> int:
    import uvloop

    from agenthft.cli.run import stdio_token

    if not Path(args.desk).is_file():
        raise CliError(Exit.USAGE, f"no desk file {args.desk!r} (see examples/desk.toml)")
    stdio_token(args)  # a wrong or missing token for the MCP stdio seat: refused before anything starts
    summary, code = uvloop.run(run_desk(args))
    print(json.dumps(summary), file=sys.stderr if args.mcp_stdio else sys.stdout)
    if code == Exit.INTERRUPTED:
        print("agenthft desk: interrupted", file=sys.stderr)
    return int(code)


def add_parser(sub: Any) -> None:
    from agenthft.cli.run import add_data_dir_arg

    d = sub.add_parser(
        "desk",
        help="several strategies at once, each its own agent, under one control plane and dashboard",
        description="Run a desk of strategies from a TOML file (examples/desk.toml, docs/agents.md): each "
        "strategy in its own process (its own venue sessions, journal and risk; `cpu = N` pins it), one "
        "control plane over them; a strategy whose process dies is reported and its orders cancelled.",
    )
    d.add_argument("desk", help="the desk file: [venues.NAME] and [[strategies]] (name, strategy, keys, params)")
    d.add_argument("--duration", type=float, help="seconds to run (default: until SIGINT/SIGTERM)")
    d.add_argument("--out", help="each strategy's results and report under this folder, and an index page")
    d.add_argument("--dashboard", action="store_true", help="the live dashboard (plain lines when not a TTY)")
    d.add_argument("--control", type=int, metavar="PORT", help="the HTTP control plane on 127.0.0.1:PORT (0: any)")
    d.add_argument("--mcp", type=int, metavar="PORT", help="the MCP server (streamable HTTP) on 127.0.0.1:PORT")
    d.add_argument("--mcp-stdio", action="store_true", help="MCP on stdin/stdout (the summary then goes to stderr)")
    d.add_argument("--token", action="append", metavar="SECRET[,ro]", help="a control-plane token (repeatable)")
    add_data_dir_arg(d)
    d.add_argument("--cancel-on-exit", action="store_true", help="cancel every strategy's orders before the summary")
    d.add_argument("--journal-dir", metavar="DIR", help="each strategy's SQLite journal here (NAME.sqlite)")
    d.add_argument(
        "--in-process", action="store_true", help="every strategy on one event loop in this process (small machines)"
    )
    d.add_argument("--quiet", action="store_true", help="no start line on stderr")
    d.set_defaults(func=cmd_desk)
