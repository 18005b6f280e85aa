"""`agenthft run STRATEGY ...` and `agenthft strategies`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from agenthft.cli.errors import CliError, Exit, end_codes, start_failure, stop_on_signals, worst
from agenthft.model import CASH_DECIMALS, CASH_UNIT, to_scaled
from agenthft.risk import RiskConfig
from agenthft.strategies.loader import (
    BUILTIN,
    StrategyError,
    build,
    describe,
    load_class,
    parse_param_args,
    read_params_file,
)


def risk_config(path: str | None, no_limits: bool = False) -> RiskConfig:
    """The risk thresholds of a run: a TOML file's (fields of RiskConfig) if given; else the safe
    default money limits (`risk.engine.SAFE_LIMITS`); with `no_limits`, every money control off.
    A file that turns every money control off must come with `--no-limits` (said explicitly)."""
    from agenthft.risk.engine import all_money_off, safe_defaults

    if not path:
        return RiskConfig() if no_limits else safe_defaults()
    import tomllib

    try:
        config = msgspec.convert(tomllib.loads(Path(path).read_text()), RiskConfig)
    except FileNotFoundError:
        raise CliError(Exit.USAGE, f"no risk file {path!r}") from None
    except (tomllib.TOMLDecodeError, msgspec.ValidationError, ValueError) as e:
        raise CliError(
            Exit.USAGE,
            f'bad risk file {path}: {e} (money is a decimal string, e.g. position_limit = "5000"; '
            "see examples/risk.toml)",
        ) from None
    if all_money_off(config) and not no_limits:
        raise CliError(
            Exit.USAGE,
            f"risk file {path} turns every money control off (position, notional and loss limits); "
            "pass --no-limits as well to mean it",
        )
    return config


def risk_text(config: RiskConfig, path: str | None, no_limits: bool) -> str:
    """One line saying which money limits are on, and where they came from."""
    from agenthft.risk.engine import all_money_off, money_limits

    if all_money_off(config):
        return "risk: every money limit OFF (--no-limits): no position, notional or loss limit"
    where = f"from {path}" if path else "safe defaults (--risk FILE for your own, --no-limits to turn them off)"
    on = ", ".join(f"{k} {v}" for k, v in money_limits(config).items() if v not in ("0", ""))
    return f"risk: {on} (quote currency), {where}"


def add_risk_args(parser: Any) -> None:
    parser.add_argument(
        "--risk", help="risk thresholds (TOML, fields of RiskConfig; see docs/risk.md, examples/risk.toml)"
    )
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="turn the money limits off (without --risk, safe default limits are on: docs/risk.md)",
    )


def fixed_params(args: argparse.Namespace) -> dict[str, Any]:
    """The strategy parameters given by --params, --param and --market (--param wins)."""
    cls = load_class(args.strategy)
    values: dict[str, Any] = {}
    if args.params:
        values |= read_params_file(args.params)
    values |= parse_param_args(args.param or [])
    if args.market is not None:
        if "market" not in {p.name for p in describe(cls)}:
            raise StrategyError(f"--market: {cls.__name__} has no market parameter")
        values["market"] = args.market
    return values


def strategy_from_args(args: argparse.Namespace) -> Any:
    return build(load_class(args.strategy), fixed_params(args))


async def _start(runner: Any, args: argparse.Namespace) -> None:
    """Start the runner, turning connection failures into one line that says what to fix."""
    try:
        await runner.start()
    except Exception as e:
        raise start_failure(e, runner.port.url) from None


def make_port(
    spec: str, rest: str | None, key: str | None, args: argparse.Namespace | None = None, public: bool = False
) -> Any:
    """`--venue` (and, for an agenthft venue, `--rest` and `--key`) as a venue port. A real
    venue's mainnet needs `--live` and a risk file whose money limits are all on; `public`: the
    venue's public side only (no keys, nothing traded: probing, recording)."""
    from agenthft.connectors.credentials import CredentialError
    from agenthft.connectors.registry import VenueSpecError, kind_of, open_port

    options: dict[str, Any] = {}
    try:
        kind = kind_of(spec)
        if kind == "paper":  # no keys, no money: the feed's public data and local fills
            options = {"latency": getattr(args, "paper_latency", None), "queue": getattr(args, "paper_queue", None)}
        elif kind == "ccxt":
            name, _, base = spec.removeprefix("ccxt:").partition("@")
            if not public:
                live_money_guard(spec, not base and not name.endswith("-testnet"), args)
            options = {"key_file": getattr(args, "keys_file", None)}
        elif kind == "hyperliquid":
            from agenthft.connectors.hyperliquid import endpoints as hl_endpoints

            live_money_guard(spec, hl_endpoints(spec).mainnet, args)
            options = {"dry_run": bool(getattr(args, "dry_run", False)), "key_file": getattr(args, "keys_file", None)}
        elif kind != "agenthft":
            from agenthft.connectors.binance_usdm import endpoints

            if public:
                options = {"public_only": True}
            else:
                live_money_guard(spec, endpoints(spec).mainnet, args)
                options = {
                    "dry_run": bool(getattr(args, "dry_run", False)),
                    "key_file": getattr(args, "keys_file", None),
                }
        return open_port(spec, rest, key or os.environ.get("AGENTHFT_API_KEY"), **options)
    except (VenueSpecError, CredentialError, ValueError) as e:
        raise CliError(Exit.USAGE, str(e)) from None


def live_money_guard(spec: str, mainnet: bool, args: argparse.Namespace | None) -> None:
    """Real money needs `--live` and a risk file whose money limits are all non-zero (a dry run
    sends nothing, so it needs neither)."""
    if not mainnet or (args is not None and getattr(args, "dry_run", False)):
        return
    if args is None or not getattr(args, "live", False):
        raise CliError(
            Exit.USAGE,
            f"--venue {spec} trades real money: add --live and a --risk file whose money limits are all set "
            f"(or start on {spec}-testnet, or add --dry-run to see what would be sent)",
        )
    from agenthft.risk.engine import MONEY_CONTROLS

    if not args.risk:
        raise CliError(Exit.USAGE, "--live needs --risk FILE with every money limit set (examples/risk.toml)")
    config = risk_config(args.risk, False)
    off = [name for name in MONEY_CONTROLS if config is None or to_scaled(getattr(config, name), CASH_DECIMALS) == 0]
    if off:
        raise CliError(Exit.USAGE, f"--live: the risk file {args.risk} leaves {', '.join(off)} off; set each")


def _status_line(runner: Any, t0: float) -> str:
    s = runner
    pnl = s.session_pnl(s.marks())
    positions = ", ".join(
        f"{m} {s.instruments[m].lots_to_qty(p.size)}" for m, p in s.oms.positions.items() if m in s.instruments
    )
    return (
        f"[{time.monotonic() - t0:6.1f}s] fills {len(s.oms.seen_fills)}  open {len(s.oms.live)}  "
        f"position {positions or 'flat'}  pnl {pnl.net / CASH_UNIT:+.4f} {pnl.currency}  "
        f"risk {s.risk.state.value}  reconnects {s.port.reconnects}"
    )


async def run_agent(args: argparse.Namespace) -> tuple[dict[str, object], Exit]:

    from agenthft.runtime import GcPolicy, Runner
    from agenthft.runtime.runner import Observer

    class Announce(Observer):
        """One stderr line when the risk state changes (with the cause), and on reconnects."""

        def on_event(self, runner: Runner, kind: str, payload: Any) -> None:
            if kind == "trip":
                print(f"agenthft run: risk {runner.risk.state.value}: {payload}", file=sys.stderr, flush=True)
            elif kind in ("disconnected", "connected") and not args.quiet and runner.started:
                print(f"agenthft run: {kind} ({payload})", file=sys.stderr, flush=True)

    strategy = strategy_from_args(args)
    runner = Runner(
        strategy,
        make_port(args.venue, args.rest, args.key, args),
        journal_path=args.journal,
        gc_policy=GcPolicy(disable_in_hot_loop=args.gc_disable),
        cpu=args.cpu,
        orders_per_s=args.orders_per_s,
        risk=risk_config(args.risk, args.no_limits),
        halt_file=args.halt_file,
    )

    runner.observers.append(Announce())
    stop = asyncio.Event()
    interrupted = stop_on_signals(stop)
    loop = asyncio.get_running_loop()
    # manual override: cancel everything and halt, from a signal (or the --halt-file flag file);
    # installed before the first order can leave, so the signal never meets its default (exit)
    loop.add_signal_handler(signal.SIGUSR1, runner.manual_override, "SIGUSR1")
    await _start(runner, args)
    if not args.quiet:
        print(
            f"agenthft run: {strategy.name} on {', '.join(runner.books)} at {args.venue}", file=sys.stderr, flush=True
        )
        print(f"agenthft run: {risk_text(runner.risk.config, args.risk, args.no_limits)}", file=sys.stderr, flush=True)

    async def status() -> None:
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(args.status_every)
            print(f"agenthft run: {_status_line(runner, t0)}", file=sys.stderr, flush=True)

    closers, recording = await _seat(runner, args, stop, status)
    await run_until(stop, args.duration)
    return await finish(runner, args, closers, recording, f"live:{runner.port.url}", interrupted())


async def finish(
    agent: Any, args: argparse.Namespace, closers: list[Any], recording: Any, source: str, interrupted: bool
) -> tuple[dict[str, Any], Exit]:
    """`run`'s end, one venue or several (`runtime.closing`: the one closing sequence)."""
    from agenthft.runtime.closing import close

    write = (lambda: recording.write(args.out, source)) if recording is not None else None
    ends, written = await close({"agent": agent}, args.cancel_on_exit, closers, write)
    end = ends["agent"]
    summary = end.merged()
    for venue, why in end.errors.items():  # the summary is written even when the venue is gone
        summary["venue_error" if venue == "venue" else f"venue_error_{venue}"] = f"venue unreachable at exit: {why}"
    if written is not None:
        summary["files"] = [str(p) for p in written]
    code = worst(end_codes(interrupted, end.halted, bool(end.errors)))
    summary["exit_code"] = int(code)
    return summary, code


async def run_until(stop: asyncio.Event, duration: float | None) -> None:
    """Until `stop` (a signal, the control plane) or `duration` seconds, whichever is first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration) if duration else await stop.wait()
    stop.set()


def _cancelling(task: asyncio.Task[None]) -> Any:
    async def close() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return close


async def _seat(agent: Any, args: argparse.Namespace, stop: asyncio.Event, status: Any = None) -> tuple[list[Any], Any]:
    """The supervising agent's seat around a started agent: the control plane's doors, the
    results recorder (--out) and the dashboard (--dashboard; else status lines). Returns
    (closers, the recording or None); the first closer ends the dashboard or the status lines."""
    plane, closers, url = await _control(agent, args)
    recording: Any = None
    if args.out and plane is not agent:  # a desk of processes: each strategy records its own
        from agenthft.backtest.results import DeskRecording, LiveRecording

        recording = DeskRecording(agent) if isinstance(agent, dict) else LiveRecording(agent)

        async def sample() -> None:
            while True:
                await asyncio.sleep(0.1)
                recording.tick()

        closers.append(_cancelling(asyncio.create_task(sample())))
    if args.dashboard and plane is not None:
        from agenthft.control.dashboard import show

        task = asyncio.create_task(show(plane, stop, url))

        async def end_dashboard() -> None:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)

        closers.insert(0, end_dashboard)
    elif status is not None and not args.quiet and args.status_every > 0:
        closers.insert(0, _cancelling(asyncio.create_task(status())))
    else:
        closers.insert(0, _nothing)
    return closers, recording


async def _nothing() -> None:
    return None


def _tokens(args: argparse.Namespace) -> dict[str, Any]:
    """--token SECRET[,ro] (repeatable) as secret -> Token."""
    from agenthft.control import Token

    tokens: dict[str, Any] = {}
    for i, text in enumerate(args.token or []):
        secret, _, mode = text.partition(",")
        tokens[secret] = Token(f"token-{i + 1}{'-ro' if mode == 'ro' else ''}", read_only=mode == "ro")
    return tokens


def stdio_token(args: argparse.Namespace) -> Any:
    """The MCP stdio seat's token, given at start: `AGENTHFT_TOKEN` (the MCP client's config sets
    it) must be one of the --token secrets, and a read-only one gives a read-only seat. Without
    --token and without AGENTHFT_TOKEN the process owner who launched it is the `stdio`
    principal. Checked before anything starts: a wrong or missing token is a one-line refusal."""
    import os

    from agenthft.control import Token

    if not getattr(args, "mcp_stdio", False):
        return None
    secret = os.environ.get("AGENTHFT_TOKEN")
    tokens = _tokens(args)
    if secret is None:
        if tokens:
            raise CliError(Exit.USAGE, "--mcp-stdio with --token: set AGENTHFT_TOKEN to one of the tokens")
        return Token("stdio")
    token = tokens.get(secret)
    if token is None:
        raise CliError(Exit.USAGE, "AGENTHFT_TOKEN is not one of the --token tokens: the MCP seat is refused")
    return token


def research(args: argparse.Namespace) -> Any:
    """The supervising agent's research folders: --data-dir (default ../shared/data if present)."""
    from agenthft.cli.capture import DEFAULT_DATA
    from agenthft.control.research import Research

    dirs = args.data_dir or ([DEFAULT_DATA] if DEFAULT_DATA.is_dir() else [])
    return Research(dirs, "results")


async def _control(agent: Any, args: argparse.Namespace) -> tuple[Any, list[Any], str | None]:
    """The control plane for the supervising agent, when asked: HTTP and/or MCP (streamable HTTP
    or stdio). Tokens from --token SECRET[,ro] (repeatable); none given: one full token is made
    and printed on stderr. Returns (the plane, closers, the HTTP door's URL); with no door and
    no dashboard, (None, [], None). The last closer stops the strategies the supervisor started.
    `agent` may be a plane already (a desk of processes): it is served as it is."""
    from agenthft.control import ControlPlane, Token
    from agenthft.control.plane import BasePlane

    given = agent if isinstance(agent, BasePlane) else None
    if args.control is None and args.mcp is None and not args.mcp_stdio:
        return ((given or ControlPlane(agent)) if args.dashboard else None), [], None
    import secrets

    tokens = _tokens(args)
    seat = stdio_token(args)  # checked again: the caller checked it before starting
    if not tokens:
        made = "ctl_" + secrets.token_urlsafe(24)
        tokens[made] = Token("operator")
        print(f"agenthft run: control token {made}", file=sys.stderr, flush=True)
    plane = given or ControlPlane(agent, tokens, research(args))
    if given is not None:
        given.tokens, given.research = tokens, research(args)
    closers: list[Any] = []
    url = None
    if args.control is not None:
        from agenthft.control import http as control_http

        site, url = await control_http.serve(plane, "127.0.0.1", args.control)
        closers.append(site.cleanup)
        print(f"agenthft run: control plane {url}/v1/status", file=sys.stderr, flush=True)
    if args.mcp is not None:
        from agenthft.control import mcp_server

        server, mcp_url = await mcp_server.serve_http(plane, "127.0.0.1", args.mcp)
        closers.append(lambda: mcp_server.stop_http(server))
        print(f"agenthft run: MCP (streamable HTTP) {mcp_url}", file=sys.stderr, flush=True)
    if args.mcp_stdio:
        from agenthft.control import mcp_server

        task = asyncio.create_task(mcp_server.serve_stdio(plane, seat))

        async def cancel() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        closers.append(cancel)
    closers.append(plane.close)
    return plane, closers, url


def _legs(args: argparse.Namespace) -> list[Any]:
    """`--leg NAME=WS_URL,REST_URL,KEY` (an agenthft venue) or `--leg NAME=SPEC` (any other)."""
    from agenthft.runtime.multi import VenueLeg

    legs = []
    for text in args.leg:
        name, sep, rest = text.partition("=")
        parts = rest.split(",")
        if not sep or not name or not all(parts) or len(parts) not in (1, 3):
            raise CliError(Exit.USAGE, f"--leg takes NAME=WS_URL,REST_URL,KEY or NAME=VENUE_SPEC, got {text!r}")
        rest_url, key = (parts[1], parts[2]) if len(parts) == 3 else (None, None)
        port = make_port(parts[0], rest_url, key, args)
        legs.append(VenueLeg(name, port, risk=risk_config(args.risk, args.no_limits)))
    return legs


async def run_multi(args: argparse.Namespace) -> tuple[dict[str, object], Exit]:
    """One strategy on several venues (`--leg` each): start all, run, quiesce, then each venue's
    own account of fills beside the agent's."""
    from agenthft.runtime.multi import MultiRunner

    legs = _legs(args)
    caps = dict(item.partition("=")[::2] for item in args.max_net or [])
    multi = MultiRunner(strategy_from_args(args), legs, max_net=caps, orders_per_s=args.orders_per_s)
    for leg in legs:
        await _start(multi.runners[leg.name], args)
    multi._begin()
    stop = asyncio.Event()
    interrupted = stop_on_signals(stop)
    if not args.quiet:
        print(f"agenthft run: {multi.strategy.name} on {', '.join(multi.books)}", file=sys.stderr, flush=True)
    closers, recording = await _seat(multi, args, stop)
    await run_until(stop, args.duration)
    source = "live:" + ", ".join(f"{leg.name}={leg.port.url}" for leg in legs)
    return await finish(multi, args, closers, recording, source, interrupted())


def cmd_run(args: argparse.Namespace) -> int:
    import uvloop

    if args.leg:
        if args.venue or args.rest or args.key:
            raise CliError(Exit.USAGE, "--leg replaces --venue/--rest/--key (one --leg per venue)")
        stdio_token(args)
        summary, code = uvloop.run(run_multi(args))
        print(json.dumps(summary))
        if code == Exit.INTERRUPTED:
            print("agenthft run: interrupted", file=sys.stderr)
        return int(code)
    if not args.venue:
        raise CliError(Exit.USAGE, "--venue required (or one --leg per venue)")
    stdio_token(args)  # a wrong or missing token for the MCP stdio seat: refused before anything starts
    summary, code = uvloop.run(run_agent(args))
    print(json.dumps(summary), file=sys.stderr if args.mcp_stdio else sys.stdout)
    if code == Exit.HALTED:
        print(f"agenthft run: ended halted ({summary['first_trip']})", file=sys.stderr)
    elif code == Exit.VENUE_UNREACHABLE:
        print(f"agenthft run: {summary['venue_error']}", file=sys.stderr)
    elif code == Exit.INTERRUPTED:
        print("agenthft run: interrupted", file=sys.stderr)
    return int(code)


def cmd_strategies(args: argparse.Namespace) -> int:
    classes = {name: cls for name, cls in BUILTIN.items()}
    for spec in args.extra or []:
        classes[spec] = load_class(spec)
    if args.json:
        out = {name: [msgspec.to_builtins(p) for p in describe(cls)] for name, cls in classes.items()}
        print(json.dumps(out, indent=2))
        return 0
    for name, cls in classes.items():
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        print(f"{name}: {doc[0] if doc else cls.__name__}")
        for p in describe(cls):
            print(f"  --param {p.name}=<{p.type}>  default {p.default}  {p.description}")
    return 0


def add_data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        action="append",
        metavar="DIR",
        help="recorded data the supervising agent may list and backtest on over MCP/HTTP (repeatable; "
        "default ../shared/data when present); its backtests go to results/backtests",
    )


def add_strategy_args(parser: argparse.ArgumentParser) -> None:
    """The strategy and its parameters, as `run`, `backtest` and `sweep` take them."""
    parser.add_argument("strategy", help=f"{' | '.join(BUILTIN)} | MODULE:CLASS | FILE.py:CLASS")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="a strategy parameter (repeatable)")
    parser.add_argument("--params", metavar="FILE.toml", help="strategy parameters from a TOML file (--param wins)")
    parser.add_argument("--market", help="shorthand for --param market=MARKET")


def add_parsers(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run a strategy against a venue; status on stderr, JSON summary on stdout at exit",
        description="Run a strategy (a shipped NAME, MODULE:CLASS or FILE.py:CLASS) against a venue. "
        "See docs/writing-a-strategy.md.",
    )
    add_strategy_args(run)
    run.add_argument(
        "--venue",
        help="ws://HOST:PORT/trading (an agenthft venue, with --rest and --key), binance-usdm-testnet, "
        "binance-usdm (real money: --live), binance-usdm@http://HOST:PORT (a local Binance-dialect venue), "
        "hyperliquid-testnet, hyperliquid (real money: --live), hyperliquid@http://HOST:PORT, ccxt:EXCHANGE[@URL]",
    )
    run.add_argument("--rest", help="agenthft venue: REST base URL, e.g. http://127.0.0.1:8766")
    run.add_argument("--key", help="agenthft venue: API key (ahk_...; or $AGENTHFT_API_KEY)")
    run.add_argument(
        "--keys-file",
        metavar="FILE",
        help="a real venue's credentials (TOML, readable by its owner only); else $BINANCE_API_KEY and "
        "$BINANCE_API_SECRET (or $BINANCE_PRIVATE_KEY_FILE for Ed25519), $HYPERLIQUID_PRIVATE_KEY and "
        "$HYPERLIQUID_ACCOUNT_ADDRESS, $CCXT_*",
    )
    run.add_argument("--live", action="store_true", help="allow a mainnet venue (real money; needs --risk FILE)")
    run.add_argument(
        "--paper-latency",
        metavar="TIER|F,O,R",
        help="--venue paper:...: the order and response legs' latency (default colocated; docs/paper.md)",
    )
    run.add_argument("--paper-queue", metavar="MODEL", help="--venue paper:...: the L2 queue model (proportional)")
    run.add_argument("--dry-run", action="store_true", help="print what would be sent to a real venue; send nothing")
    run.add_argument(
        "--leg",
        action="append",
        metavar="NAME=WS_URL,REST_URL,KEY",
        help="one venue of a multi-venue strategy (repeatable; markets are then NAME:MARKET)",
    )
    run.add_argument("--max-net", action="append", metavar="BASE=QTY", help="multi-venue: cap |net position| per base")
    run.add_argument("--out", help="write the run's results (Parquet), summary and HTML report to this folder")
    run.add_argument(
        "--dashboard", action="store_true", help="a live terminal dashboard on stderr (plain lines when not a TTY)"
    )
    run.add_argument(
        "--control", type=int, metavar="PORT", help="serve the HTTP control plane on 127.0.0.1:PORT (0: any)"
    )
    run.add_argument("--mcp", type=int, metavar="PORT", help="serve the MCP server (streamable HTTP) on 127.0.0.1:PORT")
    run.add_argument(
        "--mcp-stdio", action="store_true", help="serve MCP on stdin/stdout (the summary then goes to stderr)"
    )
    run.add_argument(
        "--token", action="append", metavar="SECRET[,ro]", help="a control-plane token (repeatable; ',ro': read-only)"
    )
    add_data_dir_arg(run)
    run.add_argument("--journal", help="SQLite journal; on restart the agent rebuilds from it, then reconciles")
    run.add_argument("--duration", type=float, help="seconds to run (default: until SIGINT/SIGTERM)")
    run.add_argument("--cpu", type=int, help="pin the process to this CPU")
    run.add_argument("--gc-disable", action="store_true", help="no automatic GC in the hot loop")
    run.add_argument(
        "--orders-per-s", type=float, help="client-side order rate (default: the key's limit, from the venue)"
    )
    run.add_argument("--cancel-on-exit", action="store_true", help="cancel open orders (and wait) before the summary")
    add_risk_args(run)
    run.add_argument("--halt-file", help="manual override: when this file exists, cancel everything and halt")
    run.add_argument("--status-every", type=float, default=5.0, help="seconds between status lines on stderr")
    run.add_argument("--quiet", action="store_true", help="no status lines (halts are still printed)")
    run.set_defaults(func=cmd_run)

    strategies = sub.add_parser("strategies", help="list the shipped strategies and their parameters")
    strategies.add_argument("extra", nargs="*", help="also describe these (MODULE:CLASS or FILE.py:CLASS)")
    strategies.add_argument("--json", action="store_true", help="as JSON")
    strategies.set_defaults(func=cmd_strategies)
