"""Command line: `agenthft demo | replay | venue` (run and the rest arrive with their issues)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from agenthft.market.feeds import FORMATS, ReplayReport, shared_captures, verify_files
from agenthft.risk import RiskConfig

DEFAULT_DATA = Path("../shared/data")


def _report_table(reports: Sequence[ReplayReport]) -> Table:
    table = Table(title="book replica verified against real captures")
    for col in ("format", "files", "check", "passed", "failed", "gaps", "crossed", "events/s"):
        table.add_column(col, justify="left" if col in ("format", "files", "check") else "right")
    for r in reports:
        table.add_row(
            r.venue_format,
            "\n".join(Path(f).name for f in r.files),
            r.check,
            f"{r.checks_passed:,}",
            f"{r.checks_failed:,}",
            str(r.gaps),
            str(r.crossed),
            f"{r.events_per_s:,.0f}",
        )
    return table


def _print_reports(reports: Sequence[ReplayReport], as_json: bool) -> int:
    if as_json:
        sys.stdout.write(msgspec.json.encode(list(reports)).decode() + "\n")
    else:
        console = Console()
        console.print(_report_table(reports))
        for r in reports:
            for f in r.failures:
                console.print(f"[red]FAIL[/red] {r.venue_format}: {f}")
    return 0 if all(r.ok for r in reports) else 1


def cmd_replay(args: argparse.Namespace) -> int:
    return _print_reports(verify_files(args.files, args.venue_format), args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    import uvloop

    from agenthft.demo import venue_session

    data = Path(args.data)
    if not data.is_dir():
        print(f"demo: no data folder at {data} (pass --data)", file=sys.stderr)
        return 2
    reports = [r for group in shared_captures(data) for r in verify_files(group)]
    code = _print_reports(reports, args.json)
    if args.json:
        return code
    total = sum(r.checks_passed for r in reports)
    failed = sum(r.checks_failed for r in reports)
    print(f"{total:,} checks passed, {failed:,} failed over {len(reports)} captures\n")
    res = uvloop.run(venue_session())
    ack, fill = res["ack_us"], res["fill_us"]
    print(f"embedded venue at {res['ws_url']} (venue and agents in this one process):")
    print(f"  {res['orders']:,} post-only orders placed and cancelled over WebSocket:")
    print(f"    order_ack round trip p50 {ack[50]:.0f} us, p99 {ack[99]:.0f} us, p99.9 {ack[99.9]:.0f} us")
    print(f"  {res['fills']} IOC orders against resting quotes: fill round trip p50 {fill[50]:.0f} us")
    print(f"    taker fees {res['taker_fees']:.4f} USDC, maker rebates {-res['maker_rebates']:.4f} USDC")
    for p in res["positions"]:
        print(
            f"  taker position {p['market']}: {p['size']} @ {p['avg_price']}, mark {p['mark_price']}, "
            f"unrealized {p['unrealized_pnl']:.4f}"
        )
    from agenthft.demo import agent_session

    agent = uvloop.run(agent_session())
    summary, tel = agent["summary"], agent["summary"]["telemetry"]
    print("\nagent runtime (Runner + quoter, SQLite journal) on the embedded venue, a taker hitting it:")
    print(
        f"  fills {agent['venue_fills']}, position {summary['positions']}, realized {summary['realized']:.4f}, "
        f"fees {summary['fees']:.4f} USDC (negative = rebates)"
    )
    print(
        f"  socket dropped once mid-session: reconnects {summary['reconnects']}, "
        f"reconciliations {len(summary['reconciles'])}"
    )
    print(f"  journal fills == venue fills, one to one: {agent['journal_matches_venue']}")
    for name in ("tick_to_trade", "ack_rtt", "fill_latency"):
        h = tel[name]
        if h["count"]:
            print(f"  {name:13} n={h['count']:<4} p50 {h['p50_us']:8.1f} us  p99 {h['p99_us']:8.1f} us")
    return code if agent["journal_matches_venue"] else 1


async def _serve_venues(args: argparse.Namespace) -> None:
    import asyncio
    import signal

    from agenthft.market.sim import FairValue
    from agenthft.market.sim.scenario import load_scenario
    from agenthft.venue import VenueServer, load_config
    from agenthft.venue.replaydriver import ReplayDriver, capture_instruments
    from agenthft.venue.simdriver import SimDriver

    configs = [load_config(c) for c in (args.config or [None])]
    if args.replay:  # the captures' markets are the venue's markets
        instruments = capture_instruments(args.replay)
        funds = dict(configs[0].sandbox.funds) | {i.quote: "1000000" for i in instruments}
        configs = [
            msgspec.structs.replace(
                configs[0], markets=instruments, sandbox=msgspec.structs.replace(configs[0].sandbox, funds=funds)
            )
        ]
    replays: list[ReplayDriver] = []
    servers = []
    drivers: list[SimDriver] = []
    scenario = load_scenario(args.sim) if args.sim else None
    underlyings: dict[str, FairValue] = {}  # venues of one process quote one fair value per underlying
    for i, cfg in enumerate(configs):
        if args.delay_us is not None or args.jitter_us is not None:
            cfg = msgspec.structs.replace(
                cfg,
                venue=msgspec.structs.replace(
                    cfg.venue,
                    delay_us=cfg.venue.delay_us if args.delay_us is None else args.delay_us,
                    jitter_us=cfg.venue.jitter_us if args.jitter_us is None else args.jitter_us,
                ),
            )
        port = args.port + 2 * i if args.port else 0
        state = None if not args.state else args.state if len(configs) == 1 else f"{args.state}.{i}"
        srv = await VenueServer(cfg, state).start(args.host, port)
        key, account, _ = srv.venue.register(f"sandbox-{i}", operator=True)
        if srv.venue.replayed:
            print(f"  state      {state}: {srv.venue.replayed:,} commands replayed")
        for skipped in srv.venue.replay_skipped:  # reported, never fatal: the rest is restored
            print(f"venue: state {state}: skipped {skipped}", file=sys.stderr)
        servers.append(srv)
        print(f"venue {cfg.venue.name}: markets {', '.join(m.market for m in cfg.markets)}")
        print(f"  websocket  {srv.ws_url}")
        print(f"  rest       {srv.rest_url}")
        print(f"  sandbox    account {account}  key {key}")
        if cfg.venue.delay_us or cfg.venue.jitter_us:
            print(f"  delay      {cfg.venue.delay_us:g} us one-way + jitter up to {cfg.venue.jitter_us:g} us")
        if args.replay:
            replay = ReplayDriver(srv.venue, args.replay, args.speed)
            replay.start()
            replays.append(replay)
            speed = "as fast as possible" if not args.speed else f"at {args.speed:g}x real time"
            print(f"  replay     {len(replay.replays)} capture(s) {speed}")
        if scenario is not None:
            driver = SimDriver(srv.venue, scenario, underlyings)
            driver.start()
            drivers.append(driver)
            active = ", ".join(sorted(driver.sim.fair)) or "none of its markets"
            print(f"  simulation {scenario.name} on {active} ({len(driver.sim.participants)} participants)")
    sys.stdout.flush()
    import gc

    gc.collect()
    gc.freeze()  # startup objects (configs, code, markets) are never rescanned by full collections
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for driver in drivers:
        await driver.stop()
    for replay in replays:
        await replay.stop()
    if args.labels and drivers:
        n = 0
        with open(args.labels, "wb") as f:
            for driver in drivers:
                for ep in driver.sim.labels:
                    f.write(msgspec.json.encode(ep) + b"\n")
                    n += 1
        print(f"{n} labelled episodes written to {args.labels}", file=sys.stderr)
    for srv in servers:
        await srv.stop()


def cmd_venue(args: argparse.Namespace) -> int:
    import uvloop

    uvloop.run(_serve_venues(args))
    return 0


def _risk_config(path: str | None) -> RiskConfig | None:
    """Risk thresholds from a TOML file (fields of RiskConfig), or None for the defaults."""
    if not path:
        return None
    import tomllib

    return msgspec.convert(tomllib.loads(Path(path).read_text()), RiskConfig)


#: Exit codes of `agenthft run` (README "Exit codes").
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_HALTED, EXIT_VENUE = 0, 1, 2, 3, 4


async def _run_agent(args: argparse.Namespace) -> tuple[dict[str, object], int]:
    import asyncio
    import signal

    from agenthft.client import RestClient
    from agenthft.runtime import GcPolicy, Runner
    from agenthft.strategies import Quoter

    if args.strategy != "quoter":
        raise ValueError(f"unknown strategy {args.strategy!r} (available: quoter)")
    strategy = Quoter(
        args.market,
        args.qty,
        args.half_spread_ticks,
        args.ref_price,
        args.max_position,
        args.requote_ticks,
        args.min_requote_ms,
    )
    runner = Runner(
        strategy,
        args.venue,
        args.rest,
        args.key,
        journal_path=args.journal,
        gc_policy=GcPolicy(disable_in_hot_loop=args.gc_disable),
        cpu=args.cpu,
        orders_per_s=args.orders_per_s,
        risk=_risk_config(args.risk),
        halt_file=args.halt_file,
    )

    def announce(kind: str, payload: object) -> None:
        if kind == "trip":  # one line when the risk state changes, with the cause
            print(f"agenthft run: risk {runner.risk.state.value}: {payload}", file=sys.stderr, flush=True)

    runner.on_event = announce
    await runner.start()
    print(f"running {strategy.name} on {args.market} at {args.venue}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # manual override: cancel everything and halt, from a signal (or the --halt-file flag file)
    loop.add_signal_handler(signal.SIGUSR1, runner.manual_override, "SIGUSR1")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.duration) if args.duration else await stop.wait()
    code = EXIT_HALTED if runner.risk.state.value == "halted" else EXIT_OK
    if args.cancel_on_exit:
        await runner.quiesce(cancel_orders=True)
    summary = runner.summary()
    try:  # the venue's side of the story; the summary is written even when the venue is gone
        async with RestClient(args.rest, args.key, timeout_s=3.0, max_retries=0) as rest:
            summary["venue_open_orders"] = sorted(o["order_id"] for o in await rest.open_orders())
            summary["venue_fill_ids"] = sorted(f["fill_id"] for f in await rest.fills())
            summary["venue_positions"] = {
                p["market"]: {"size": p["size"], "mark_price": p["mark_price"], "unrealized": p["unrealized_pnl"]}
                for p in (await rest.positions())["positions"]
            }
    except Exception as e:
        summary["venue_error"] = f"venue unreachable at exit: {type(e).__name__}: {e}"
        code = code or EXIT_VENUE
    await runner.stop(cancel_orders=args.cancel_on_exit)
    summary["exit_code"] = code
    return summary, code


def cmd_run(args: argparse.Namespace) -> int:
    import json

    import uvloop

    summary, code = uvloop.run(_run_agent(args))
    print(json.dumps(summary))
    if code == EXIT_HALTED:
        print(f"agenthft run: ended halted ({summary['first_trip']})", file=sys.stderr)
    elif code == EXIT_VENUE:
        print(f"agenthft run: {summary['venue_error']}", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agenthft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the most complete end-to-end job available")
    demo.add_argument("--data", default=str(DEFAULT_DATA), help="folder of recorded captures")
    demo.add_argument("--json", action="store_true", help="print reports as JSON")
    demo.set_defaults(func=cmd_demo)

    replay = sub.add_parser("replay", help="rebuild books from captures and verify them")
    replay.add_argument("files", nargs="+", help="capture files (Binance files are chained in order)")
    replay.add_argument("--venue-format", choices=FORMATS, help="default: guessed from the file name")
    replay.add_argument("--json", action="store_true", help="print reports as JSON")
    replay.set_defaults(func=cmd_replay)

    venue = sub.add_parser("venue", help="run the reference venue (WebSocket + REST) until Ctrl-C")
    venue.add_argument("--config", action="append", help="venue TOML (repeat for several venues in one process)")
    venue.add_argument("--host", default="127.0.0.1")
    venue.add_argument("--port", type=int, default=0, help="WebSocket port (REST on port+1); 0 = any free")
    venue.add_argument("--delay-us", type=float, help="inject this one-way delay (us), as a remote venue")
    venue.add_argument("--jitter-us", type=float, help="plus uniform jitter up to this (us)")
    venue.add_argument("--state", help="SQLite command log: the venue survives a restart (default: in memory)")
    venue.add_argument(
        "--sim",
        help="run a market scenario on the venue (calm, lead-lag, cross-venue, manipulated, "
        "crash, or a .toml path; see docs/market.md)",
    )
    venue.add_argument("--labels", help="with --sim: write the labelled manipulation episodes (JSON lines) at exit")
    venue.add_argument(
        "--replay",
        nargs="+",
        metavar="FILE",
        help="replay recorded Binance captures as the venue's markets (one market per folder, "
        "files chained; e.g. spot + usdm of ../shared/data/hftbacktest)",
    )
    venue.add_argument("--speed", type=float, default=1.0, help="with --replay: 1 = real time, 0 = as fast as possible")
    venue.set_defaults(func=cmd_venue)

    run = sub.add_parser("run", help="run a strategy against a venue; prints a JSON summary at exit")
    run.add_argument("strategy", help="quoter")
    run.add_argument("--venue", required=True, help="WebSocket URL, e.g. ws://127.0.0.1:8765/trading")
    run.add_argument("--rest", required=True, help="REST base URL, e.g. http://127.0.0.1:8766")
    run.add_argument("--key", required=True, help="API key")
    run.add_argument("--market", default="BTC-PERP")
    run.add_argument("--qty", default="0.01", help="quote size (decimal)")
    run.add_argument("--half-spread-ticks", type=int, default=5)
    run.add_argument("--ref-price", default="60000", help="price to quote around while the book is empty")
    run.add_argument("--max-position", default="0", help="stop quoting a side past this position (0: off)")
    run.add_argument("--journal", help="SQLite journal; on restart the agent rebuilds from it, then reconciles")
    run.add_argument("--duration", type=float, help="seconds to run (default: until SIGINT/SIGTERM)")
    run.add_argument("--cpu", type=int, help="pin the process to this CPU")
    run.add_argument("--gc-disable", action="store_true", help="no automatic GC in the hot loop")
    run.add_argument(
        "--requote-ticks", type=int, default=0, help="move a quote when its target moved this far (0: half spread)"
    )
    run.add_argument("--min-requote-ms", type=float, default=50.0, help="at most one replacement per side per this")
    run.add_argument(
        "--orders-per-s", type=float, help="client-side order rate (default: the key's limit, from the venue)"
    )
    run.add_argument("--cancel-on-exit", action="store_true", help="cancel open orders when stopping")
    run.add_argument("--risk", help="risk thresholds (TOML, fields of RiskConfig; see docs/risk.md)")
    run.add_argument("--halt-file", help="manual override: when this file exists, cancel everything and halt")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (OSError, ValueError, RuntimeError) as e:
        print(f"agenthft {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
