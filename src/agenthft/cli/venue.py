"""`agenthft venue`: the reference venue, optionally with a simulated or replayed market."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path
from typing import Any

import msgspec

from agenthft.cli.errors import CliError, Exit, stop_on_signals


def check_args(args: argparse.Namespace) -> None:
    """Flags that make no sense together are refused before anything starts."""
    if args.labels and not args.sim:
        raise CliError(Exit.USAGE, "--labels needs --sim (only a simulation has labelled episodes)")
    if args.speed is not None and not args.replay:
        raise CliError(Exit.USAGE, "--speed needs --replay")
    if args.instrument and not args.replay:
        raise CliError(Exit.USAGE, "--instrument needs --replay")
    if args.ts_unit and not args.replay:
        raise CliError(Exit.USAGE, "--ts-unit needs --replay")
    if args.sim and args.replay:
        raise CliError(Exit.USAGE, "--sim and --replay are two markets: pick one")
    if args.speed is not None and args.speed < 0:
        raise CliError(Exit.USAGE, "--speed must be >= 0 (0 = as fast as possible)")
    n = len(args.config or [None])
    if args.port and not 1 <= args.port <= 65535 - 2 * n + 1:
        raise CliError(
            Exit.USAGE,
            f"--port must be 1..{65535 - 2 * n + 1} (0 = any free): REST listens on port+1"
            + (f", and {n} venues use ports N..N+{2 * n - 1}" if n > 1 else ""),
        )
    dialects = args.dialect or []
    if len(dialects) > 1 and len(dialects) != n:
        raise CliError(
            Exit.USAGE, f"{len(dialects)} --dialect for {n} --config: give one --dialect per --config, in order"
        )
    if len(dialects) == 1 and n > 1 and dialects[0] != "agenthft":
        raise CliError(Exit.USAGE, f"--dialect {dialects[0]} serves one venue: give one --dialect per --config")
    foreign = [d for d in dialects if d != "agenthft"]
    if len(foreign) != len(set(foreign)):
        raise CliError(
            Exit.USAGE, "each of binance-usdm and hyperliquid serves one venue per process (its export lines)"
        )
    if args.ed25519_pubkey and "binance-usdm" not in dialects:
        raise CliError(Exit.USAGE, "--ed25519-pubkey needs --dialect binance-usdm")
    if args.listen_key_ttl is not None and ("binance-usdm" not in dialects or args.listen_key_ttl <= 0):
        raise CliError(Exit.USAGE, "--listen-key-ttl takes a positive number of seconds, with --dialect binance-usdm")
    if args.ed25519_pubkey and not Path(args.ed25519_pubkey).is_file():
        raise CliError(Exit.USAGE, f"no public key file {args.ed25519_pubkey!r}")
    missing = [f for f in args.replay or [] if not Path(f).is_file()]
    if missing:
        raise CliError(Exit.USAGE, f"no capture file {missing[0]!r}")


async def serve(args: argparse.Namespace) -> bool:
    """Serve until SIGINT or SIGTERM; True when it was Ctrl-C (SIGINT)."""
    from agenthft.market.cache import EventCache
    from agenthft.market.feeds.probe import load_instruments
    from agenthft.market.sim import FairValue
    from agenthft.market.sim.scenario import load_scenario
    from agenthft.market.sources import load_events
    from agenthft.venue import VenueServer, load_config
    from agenthft.venue.replaydriver import ReplayDriver
    from agenthft.venue.simdriver import SimDriver

    default = "hyperliquid" if args.dialect == ["hyperliquid"] else None  # Hyperliquid's grids
    configs = [load_config(c) for c in (args.config or [default])]
    dialects = args.dialect if args.dialect and len(args.dialect) == len(configs) else ["agenthft"] * len(configs)
    known = load_instruments(args.instrument) if args.instrument else None
    recorded = None
    if args.replay:  # the recording's markets are the venue's markets
        recorded = load_events(args.replay, known, cache=EventCache(), ts_unit=args.ts_unit)
        instruments = list(recorded.markets)
        funds = dict(configs[0].sandbox.funds) | {i.quote: "1000000" for i in instruments}
        configs = [
            msgspec.structs.replace(
                configs[0], markets=instruments, sandbox=msgspec.structs.replace(configs[0].sandbox, funds=funds)
            )
        ]
    scenario = load_scenario(args.sim) if args.sim else None
    replays: list[ReplayDriver] = []
    servers: list[Any] = []
    fronts: list[Any] = []
    drivers: list[SimDriver] = []
    underlyings: dict[str, FairValue] = {}  # venues of one process quote one fair value per underlying
    stop = asyncio.Event()
    interrupted = stop_on_signals(stop)
    try:
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
            binance = dialects[i] == "binance-usdm"
            hyperliquid = dialects[i] == "hyperliquid"
            if binance:
                cfg = binance_rules(cfg)
            if hyperliquid:
                cfg = hyperliquid_rules(cfg)
            at = args.port + 2 * i if args.port else 0  # (a dialect's one port; ours: WebSocket, REST at +1)
            port = 0 if binance or hyperliquid else at
            state = None if not args.state else args.state if len(configs) == 1 else f"{args.state}.{i}"
            try:
                srv = await VenueServer(cfg, state).start(args.host, port)
            except OSError as e:
                raise CliError(Exit.USAGE, f"cannot listen on {args.host}:{port}: {e.strerror or e}") from None
            servers.append(srv)
            key, account, record = srv.venue.register(f"sandbox-{i}", operator=True)
            if binance:
                fronts.append(await start_binance(args, srv, record, at))
            if hyperliquid:
                fronts.append(await start_hyperliquid(args, srv, at))
            if srv.venue.replayed:
                print(f"  state      {state}: {srv.venue.replayed:,} commands replayed")
            for skipped in srv.venue.replay_skipped:  # reported, never fatal: the rest is restored
                print(f"agenthft venue: state {state}: skipped {skipped}", file=sys.stderr)
            if binance:
                print_binance(fronts[-1], cfg, srv, account)
            elif hyperliquid:
                print_hyperliquid(fronts[-1], cfg, srv, account, record)
            else:
                print(f"venue {cfg.venue.name}: markets {', '.join(m.market for m in cfg.markets)}")
                print(f"  websocket  {srv.ws_url}")
                print(f"  rest       {srv.rest_url}")
                print(f"  sandbox    account {account}  key {key}")
            if cfg.venue.delay_us or cfg.venue.jitter_us:
                print(f"  delay      {cfg.venue.delay_us:g} us one-way + jitter up to {cfg.venue.jitter_us:g} us")
            if recorded is not None:
                replay = ReplayDriver(srv.venue, recorded, args.speed if args.speed is not None else 1.0)
                replay.start()
                replays.append(replay)
                speed = "as fast as possible" if not replay.speed else f"at {replay.speed:g}x real time"
                print(f"  replay     {len(recorded):,} recorded rows of {len(recorded.markets)} market(s) {speed}")
            if scenario is not None:
                driver = SimDriver(srv.venue, scenario, underlyings)
                driver.start()
                drivers.append(driver)
                active = ", ".join(sorted(driver.sim.fair)) or "none of its markets"
                print(f"  simulation {scenario.name} on {active} ({len(driver.sim.participants)} participants)")
        if scenario is not None and not any(d.sim.fair for d in drivers):
            raise CliError(Exit.USAGE, f"scenario {scenario.name!r} trades none of the venue's markets")
        sys.stdout.flush()
        gc.collect()
        gc.freeze()  # startup objects (configs, code, markets) are never rescanned by full collections
        async with asyncio.TaskGroup() as tasks:  # the progress lines live as long as the serving
            progress = tasks.create_task(_replay_progress(replays)) if replays else None
            await stop.wait()
            if progress is not None:
                progress.cancel()
    finally:
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
            print(f"agenthft venue: {n} labelled episodes written to {args.labels}", file=sys.stderr)
        for front in fronts:
            await front.stop()
        for srv in servers:
            await srv.stop()
    return interrupted()


def binance_rules(cfg: Any) -> Any:
    """Binance-like order rules (min notional 5, a 5 % price band) unless the config sets some."""
    from agenthft.venue.config import OrderRules

    if cfg.rules != OrderRules():
        return cfg
    return msgspec.structs.replace(cfg, rules=OrderRules(min_notional="5", price_band_bps=500))


def hyperliquid_rules(cfg: Any) -> Any:
    """Hyperliquid's $10 minimum order value unless the config sets its own rules."""
    from agenthft.venue.config import OrderRules

    if cfg.rules != OrderRules():
        return cfg
    return msgspec.structs.replace(cfg, rules=OrderRules(min_notional="10"))


async def start_hyperliquid(args: argparse.Namespace, srv: Any, port: int) -> Any:
    """The Hyperliquid front on `port` (one port: /info, /exchange, /ws)."""
    from agenthft.venue.fronts.hyperliquid import HyperliquidFront

    front = HyperliquidFront(srv.venue)
    try:
        await front.start(args.host, port)
    except OSError as e:
        raise CliError(Exit.USAGE, f"cannot listen on {args.host}:{port}: {e.strerror or e}") from None
    return front


def print_hyperliquid(front: Any, cfg: Any, srv: Any, account: str, record: Any) -> None:
    """A funded wallet (a new key each start) and an API wallet it approved, as shell `export`
    lines (the rest as # comments)."""
    wallet = front.add_wallet(record)
    agent = front.approve_agent(wallet.address, "agenthft")
    perps = ", ".join(f"{c.name} ({c.market})" for c in front.coins.perps) or "none"
    spots = ", ".join(f"{c.name} ({c.market})" for c in front.coins.spots) or "none"
    print(f"# venue {cfg.venue.name} speaking Hyperliquid: perps {perps}; spot {spots}")
    for note in front.coins.notes:
        print(f"# note: {note}")
    print(f"# account {account}; agenthft protocol also on {srv.ws_url} and {srv.rest_url}")
    print("# HYPERLIQUID_AGENT_PRIVATE_KEY: an API wallet this account approved (trades, cannot withdraw);")
    print("# to trade as it: HYPERLIQUID_PRIVATE_KEY=$HYPERLIQUID_AGENT_PRIVATE_KEY, the same ACCOUNT_ADDRESS")
    print(f"export HYPERLIQUID_PRIVATE_KEY={wallet.private_key}")
    print(f"export HYPERLIQUID_ACCOUNT_ADDRESS={wallet.address}")
    print(f"export HYPERLIQUID_BASE_URL={front.base_url}")
    print(f"export HYPERLIQUID_AGENT_PRIVATE_KEY={agent.private_key}")


async def start_binance(args: argparse.Namespace, srv: Any, record: Any, port: int) -> Any:
    """The Binance USD-M front on `port` (one port: REST, WebSocket API, streams) with an HMAC
    key (and an Ed25519 one from --ed25519-pubkey) on the sandbox account."""
    from agenthft.venue.fronts.binance_usdm import BinanceFront

    front = BinanceFront(srv.venue, **({"listen_key_ttl_s": args.listen_key_ttl} if args.listen_key_ttl else {}))
    try:
        await front.start(args.host, port)
    except OSError as e:
        raise CliError(Exit.USAGE, f"cannot listen on {args.host}:{port}: {e.strerror or e}") from None
    front.add_hmac_key(record)
    if args.ed25519_pubkey:
        try:
            front.add_ed25519_key(record, Path(args.ed25519_pubkey).read_bytes())
        except ValueError as e:
            raise CliError(Exit.USAGE, f"{args.ed25519_pubkey}: {e}") from None
    return front


def print_binance(front: Any, cfg: Any, srv: Any, account: str) -> None:
    """What a Binance client needs, as shell `export` lines (the rest as # comments)."""
    hmac_key = next(k for k in front.keys.of_account(account) if k.kind == "HMAC_SHA256")
    ed = [k for k in front.keys.of_account(account) if k.kind == "ED25519"]
    names = ", ".join(s.name for s in front.symbols.values())
    print(f"# venue {cfg.venue.name} speaking Binance USD-M: symbols {names}")
    print(f"# account {account}; agenthft protocol also on {srv.ws_url} and {srv.rest_url}")
    print(f"export BINANCE_API_KEY={hmac_key.api_key}")
    print(f"export BINANCE_API_SECRET={hmac_key.secret}")
    if ed:
        print(f"export BINANCE_ED25519_API_KEY={ed[0].api_key}")
    print(f"export BINANCE_BASE_URL={front.base_url}")
    print(f"export BINANCE_WS_API_URL={front.ws_api_url}")
    print(f"export BINANCE_STREAM_URL={front.stream_url}")


async def _replay_progress(replays: list[Any]) -> None:
    """Progress of the replays on stderr (every `$AGENTHFT_PROGRESS_S`, default 5 s), and one
    line when the recording has ended."""
    from agenthft.progress import every_s as interval

    every_s = interval() or 0.1  # (0 means every step elsewhere: here a tenth of a second)
    ended = asyncio.gather(*(r.done.wait() for r in replays))
    while not ended.done():
        await asyncio.wait({ended}, timeout=every_s)
        steps = sum(r.steps for r in replays)
        state = "ended: the venue stays up with the final book" if ended.done() else "replaying"
        print(f"agenthft venue: replay {state}, {steps:,} recorded updates applied", file=sys.stderr, flush=True)


def cmd_venue(args: argparse.Namespace) -> int:
    import uvloop

    from agenthft.book import SequenceGap
    from agenthft.market.events import CaptureFormatError

    check_args(args)
    try:
        if uvloop.run(serve(args)):
            print("agenthft venue: interrupted", file=sys.stderr)
            return int(Exit.INTERRUPTED)
    except CaptureFormatError as e:
        raise CliError(Exit.USAGE, str(e)) from None
    except SequenceGap as e:
        raise CliError(Exit.USAGE, f"the recording does not chain: {e} (give a market's files in time order)") from None
    return 0


def port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port {n} is outside 0..65535")
    return n


def add_parser(sub: Any) -> None:
    venue = sub.add_parser("venue", help="run the reference venue (WebSocket + REST) until Ctrl-C")
    venue.add_argument("--config", action="append", help="venue TOML (repeat for several venues in one process)")
    venue.add_argument("--host", default="127.0.0.1", help="address to listen on")
    venue.add_argument("--port", type=port, default=0, help="WebSocket port (REST on port+1); 0 = any free")
    venue.add_argument("--delay-us", type=float, help="inject this one-way delay (us), as a remote venue")
    venue.add_argument("--jitter-us", type=float, help="plus uniform jitter up to this (us)")
    venue.add_argument("--state", help="SQLite command log: the venue survives a restart (default: in memory)")
    from agenthft.market.sim.scenario import scenario_names

    venue.add_argument(
        "--sim",
        help=f"run a market scenario on the venue ({', '.join(scenario_names())}, or a .toml path; see "
        "docs/market.md; desk and cross-venue quote one underlying on every --config venue)",
    )
    venue.add_argument("--labels", help="with --sim: write the labelled manipulation episodes (JSON lines) at exit")
    venue.add_argument(
        "--replay",
        nargs="+",
        metavar="FILE",
        help="replay recorded data as the venue's markets (any format `agenthft replay` reads; a market's "
        "files are chained by time; e.g. spot + usdm of ../shared/data/hftbacktest)",
    )
    venue.add_argument(
        "--dialect",
        choices=["agenthft", "binance-usdm", "hyperliquid"],
        action="append",
        help="the protocol a venue speaks; one per --config, in order, for several (e.g. --config venue-b "
        "--dialect binance-usdm --config hyperliquid --dialect hyperliquid --sim cross-venue: two dialects "
        "over one simulated underlying). binance-usdm: a local Binance USD-M testnet on --port (REST, "
        "WebSocket API, streams); "
        "prints BINANCE_API_KEY / _SECRET / _BASE_URL export lines (docs/venues/binance.md). "
        "hyperliquid: Hyperliquid's /info, /exchange and /ws on --port (default markets on Hyperliquid's "
        "grids); prints HYPERLIQUID_PRIVATE_KEY / _ACCOUNT_ADDRESS / _BASE_URL (docs/venues/hyperliquid.md)",
    )
    venue.add_argument(
        "--ed25519-pubkey",
        metavar="FILE",
        help="with --dialect binance-usdm: also accept this Ed25519 public key (PEM file)",
    )
    venue.add_argument(
        "--listen-key-ttl",
        type=float,
        metavar="S",
        help="with --dialect binance-usdm: listenKeys expire after S seconds (Binance: 3600), to test a bot's renewal",
    )
    venue.add_argument("--speed", type=float, help="with --replay: 1 = real time (default), 0 = as fast as possible")
    venue.add_argument(
        "--instrument", metavar="FILE", help="with --replay: grids from a Binance exchangeInfo JSON or a TOML file"
    )
    venue.add_argument(
        "--ts-unit",
        choices=("s", "ms", "us", "ns"),
        help="with --replay: unit of the data's local timestamps, when it cannot tell",
    )
    venue.set_defaults(func=cmd_venue)
