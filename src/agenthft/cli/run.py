"""`agenthft run STRATEGY ...` and `agenthft strategies`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows

from agenthft.cli.errors import CliError, Exit
from agenthft.client import RestClient, RestError
from agenthft.model import CASH_UNIT
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


def risk_config(path: str | None) -> RiskConfig | None:
    """Risk thresholds from a TOML file (fields of RiskConfig), or None for the defaults."""
    if not path:
        return None
    import tomllib

    try:
        return msgspec.convert(tomllib.loads(Path(path).read_text()), RiskConfig)
    except FileNotFoundError:
        raise CliError(Exit.USAGE, f"no risk file {path!r}") from None
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as e:
        raise CliError(
            Exit.USAGE,
            f'bad risk file {path}: {e} (money is a decimal string, e.g. position_limit = "5000"; '
            "see examples/risk.toml)",
        ) from None


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
    except RestError as e:
        if e.status == 401:
            raise CliError(Exit.USAGE, f"the venue refused the API key (401): check --key ({e})") from None
        raise CliError(Exit.VENUE_UNREACHABLE, f"the venue's REST API at {args.rest} answered {e}") from None
    except aiohttp.ContentTypeError:
        raise CliError(Exit.VENUE_UNREACHABLE, f"{args.rest} is not the venue's REST API") from None
    except picows.WSError as e:
        raise CliError(
            Exit.VENUE_UNREACHABLE,
            f"no WebSocket session at {args.venue}: {e} (the venue's endpoint is ws://HOST:PORT/trading)",
        ) from None
    except (aiohttp.ClientConnectorError, ConnectionRefusedError) as e:
        if runner.instruments:  # REST answered: it is the WebSocket that is not there
            raise CliError(
                Exit.VENUE_UNREACHABLE,
                f"cannot open the WebSocket at {args.venue}: {e.strerror or e} (is it the venue's port?)",
            ) from None
        raise CliError(
            Exit.VENUE_UNREACHABLE, f"cannot reach the venue's REST API at {args.rest}: {e.strerror or e}"
        ) from None
    except (ValueError, msgspec.DecodeError) as e:
        text = str(e)
        if "Expecting value" in text or "Extra data" in text or "JSON" in text:
            raise CliError(
                Exit.VENUE_UNREACHABLE,
                f"{args.rest} did not answer like the venue's REST API "
                "(is --rest the REST port, the WebSocket port + 1?)",
            ) from None
        raise CliError(Exit.USAGE, text) from None
    except PermissionError as e:
        raise CliError(Exit.USAGE, f"the venue refused the API key on the WebSocket: {e}") from None
    except (TimeoutError, OSError) as e:
        raise CliError(
            Exit.VENUE_UNREACHABLE,
            f"no WebSocket session at {args.venue} ({type(e).__name__}: {e or 'timed out'}); "
            "the venue's endpoint is ws://HOST:PORT/trading",
        ) from None


def _status_line(runner: Any, t0: float) -> str:
    s = runner
    pnl = s.oms.pnl(s.marks())
    positions = ", ".join(
        f"{m} {s.instruments[m].lots_to_qty(p.size)}" for m, p in s.oms.positions.items() if m in s.instruments
    )
    return (
        f"[{time.monotonic() - t0:6.1f}s] fills {len(s.oms.seen_fills)}  open {len(s.oms.live)}  "
        f"position {positions or 'flat'}  pnl {pnl.net / CASH_UNIT:+.4f} {pnl.currency}  "
        f"risk {s.risk.state.value}  reconnects {s.session.reconnects if s.session else 0}"
    )


async def run_agent(args: argparse.Namespace) -> tuple[dict[str, object], Exit]:

    from agenthft.runtime import GcPolicy, Runner

    strategy = strategy_from_args(args)
    runner = Runner(
        strategy,
        args.venue,
        args.rest,
        args.key,
        journal_path=args.journal,
        gc_policy=GcPolicy(disable_in_hot_loop=args.gc_disable),
        cpu=args.cpu,
        orders_per_s=args.orders_per_s,
        risk=risk_config(args.risk),
        halt_file=args.halt_file,
    )

    def announce(kind: str, payload: object) -> None:
        if kind == "trip":  # one line when the risk state changes, with the cause
            print(f"agenthft run: risk {runner.risk.state.value}: {payload}", file=sys.stderr, flush=True)
        elif kind in ("disconnected", "connected") and not args.quiet and runner.started:
            print(f"agenthft run: {kind} ({payload})", file=sys.stderr, flush=True)

    runner.on_event = announce
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # manual override: cancel everything and halt, from a signal (or the --halt-file flag file);
    # installed before the first order can leave, so the signal never meets its default (exit)
    loop.add_signal_handler(signal.SIGUSR1, runner.manual_override, "SIGUSR1")
    await _start(runner, args)
    if not args.quiet:
        print(
            f"agenthft run: {strategy.name} on {', '.join(runner.books)} at {args.venue}", file=sys.stderr, flush=True
        )

    async def status() -> None:
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(args.status_every)
            print(f"agenthft run: {_status_line(runner, t0)}", file=sys.stderr, flush=True)

    closers, recording = await _seat(runner, args, stop, status)
    await run_until(stop, args.duration)
    await closers[0]()  # the dashboard (or the status lines) first: the terminal is ours again
    code = Exit.HALTED if runner.risk.state.value == "halted" else Exit.OK
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
        code = code or Exit.VENUE_UNREACHABLE
    for close in closers[1:]:
        await close()
    if recording is not None:
        written = recording.write(args.out, f"live:{args.venue}")
        summary["files"] = [str(p) for p in written]
    await runner.stop(cancel_orders=args.cancel_on_exit)
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
    if args.out:
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
    no dashboard, (None, [], None). The last closer stops the strategies the supervisor started."""
    from agenthft.control import ControlPlane, Token

    if args.control is None and args.mcp is None and not args.mcp_stdio:
        return (ControlPlane(agent) if args.dashboard else None), [], None
    import secrets

    tokens = _tokens(args)
    seat = stdio_token(args)  # checked again: the caller checked it before starting
    if not tokens:
        made = "ctl_" + secrets.token_urlsafe(24)
        tokens[made] = Token("operator")
        print(f"agenthft run: control token {made}", file=sys.stderr, flush=True)
    plane = ControlPlane(agent, tokens, research(args))
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
    from agenthft.runtime.multi import VenueLeg

    legs = []
    for text in args.leg:
        name, sep, rest = text.partition("=")
        parts = rest.split(",")
        if not sep or len(parts) != 3 or not all(parts):
            raise CliError(Exit.USAGE, f"--leg takes NAME=WS_URL,REST_URL,KEY, got {text!r}")
        ws, rest_url, key = parts
        legs.append(VenueLeg(name, ws, rest_url, key, risk=risk_config(args.risk)))
    return legs


async def run_multi(args: argparse.Namespace) -> tuple[dict[str, object], Exit]:
    """One strategy on several venues (`--leg` each): start all, run, quiesce, then each venue's
    own account of fills beside the agent's."""
    from agenthft.runtime.multi import MultiRunner

    legs = _legs(args)
    caps = dict(item.partition("=")[::2] for item in args.max_net or [])
    multi = MultiRunner(strategy_from_args(args), legs, max_net=caps, orders_per_s=args.orders_per_s)
    for leg in legs:
        one = argparse.Namespace(**{**vars(args), "venue": leg.ws_url, "rest": leg.rest_url})
        await _start(multi.runners[leg.name], one)
    multi._begin()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not args.quiet:
        print(f"agenthft run: {multi.strategy.name} on {', '.join(multi.books)}", file=sys.stderr, flush=True)
    closers, recording = await _seat(multi, args, stop)
    await run_until(stop, args.duration)
    await closers[0]()
    if args.cancel_on_exit:
        await multi.quiesce(cancel_orders=True)
    summary = multi.summary()
    code = Exit.OK
    for leg in legs:
        try:
            async with RestClient(leg.rest_url, leg.api_key, timeout_s=3.0, max_retries=0) as rest:
                venue = summary["venues"][leg.name]
                venue["venue_fill_ids"] = sorted(f["fill_id"] for f in await rest.fills())
                venue["venue_open_orders"] = sorted(o["order_id"] for o in await rest.open_orders())
        except Exception as e:
            summary[f"venue_error_{leg.name}"] = f"{type(e).__name__}: {e}"
            code = Exit.VENUE_UNREACHABLE
    if any(r.risk.state.value == "halted" for r in multi.runners.values()):
        code = Exit.HALTED
    for close in closers[1:]:
        await close()
    if recording is not None:
        written = recording.write(args.out, "live:" + ", ".join(f"{leg.name}={leg.ws_url}" for leg in legs))
        summary["files"] = [str(p) for p in written]
    await multi.stop(cancel_orders=args.cancel_on_exit)
    summary["exit_code"] = int(code)
    return summary, code


def cmd_run(args: argparse.Namespace) -> int:
    import uvloop

    if args.leg:
        if args.venue or args.rest or args.key:
            raise CliError(Exit.USAGE, "--leg replaces --venue/--rest/--key (one --leg per venue)")
        stdio_token(args)
        summary, code = uvloop.run(run_multi(args))
        print(json.dumps(summary))
        return int(code)
    missing = [f"--{n}" for n in ("venue", "rest", "key") if not getattr(args, n)]
    if missing:
        raise CliError(Exit.USAGE, f"{', '.join(missing)} required (or one --leg per venue)")
    stdio_token(args)  # a wrong or missing token for the MCP stdio seat: refused before anything starts
    summary, code = uvloop.run(run_agent(args))
    print(json.dumps(summary), file=sys.stderr if args.mcp_stdio else sys.stdout)
    if code == Exit.HALTED:
        print(f"agenthft run: ended halted ({summary['first_trip']})", file=sys.stderr)
    elif code == Exit.VENUE_UNREACHABLE:
        print(f"agenthft run: {summary['venue_error']}", file=sys.stderr)
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
    run.add_argument("--venue", help="WebSocket URL, e.g. ws://127.0.0.1:8765/trading")
    run.add_argument("--rest", help="REST base URL, e.g. http://127.0.0.1:8766")
    run.add_argument("--key", help="API key (ahk_...)")
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
    run.add_argument(
        "--risk", help="risk thresholds (TOML, fields of RiskConfig; see docs/risk.md, examples/risk.toml)"
    )
    run.add_argument("--halt-file", help="manual override: when this file exists, cancel everything and halt")
    run.add_argument("--status-every", type=float, default=5.0, help="seconds between status lines on stderr")
    run.add_argument("--quiet", action="store_true", help="no status lines (halts are still printed)")
    run.set_defaults(func=cmd_run)

    strategies = sub.add_parser("strategies", help="list the shipped strategies and their parameters")
    strategies.add_argument("extra", nargs="*", help="also describe these (MODULE:CLASS or FILE.py:CLASS)")
    strategies.add_argument("--json", action="store_true", help="as JSON")
    strategies.set_defaults(func=cmd_strategies)
