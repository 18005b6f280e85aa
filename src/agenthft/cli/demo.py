"""`agenthft demo`: the most complete end-to-end job, in the order a newcomer wants to see it:
the real captures verified, then the agent's seat (every shipped strategy live on two embedded
venues under the dashboard, supervised over MCP, with its reports), then the venue's and the
runtime's measured round trips and fault handling, then the offline side (detectors scored,
backtests at the article's latencies, recorded data, two venues on one clock)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from agenthft.cli.capture import DEFAULT_DATA, SAMPLE_DATA, _print_reports
from agenthft.cli.errors import CliError, Exit
from agenthft.market.feeds import discover, verify_files

Captures = list[tuple[str, list[Path]]]


def find_captures(given: str | None) -> tuple[Captures, str]:
    """The captures the demo replays (found by content) and one line saying where they came
    from and how to point the demo at more. `given` (--data) must be a folder;
    without it, $AGENTHFT_DATA or ../shared/data where they hold captures, else the small real
    capture that ships with the package (sample_data/README.md)."""
    if given is not None:
        folder = Path(given)
        if not folder.is_dir():
            raise CliError(Exit.USAGE, f"no data folder at {folder} (--data takes a folder of captures)")
    else:
        folder = Path(os.environ.get("AGENTHFT_DATA") or DEFAULT_DATA)
    found = discover(folder) if folder.is_dir() else []
    if found:
        return found, f"captures from {folder} (--data DIR for another folder)"
    sample = discover(SAMPLE_DATA)
    files = ", ".join(str(f) for _, group in sample for f in group)
    why = "no captures" if folder.is_dir() else "no data folder"
    return (
        sample,
        f"{why} at {folder}: replaying the sample that ships with agenthft ({files}; 30,000 lines of "
        "Binance USD-M BTCUSDT); point the demo at more with --data DIR",
    )


#: the demo's parts in the order they run (`--part NAME`, repeatable, runs only those)
PARTS = ("replays", "desk", "venue", "runtime", "offline", "real-venues")


def cmd_demo(args: argparse.Namespace) -> int:
    parts = args.part or list(PARTS)
    captures, where = find_captures(args.data)
    print(f"agenthft demo: {where}", file=sys.stderr if args.json else sys.stdout, flush=True)
    code = 0
    if "replays" in parts or args.json:
        code = _demo_replays(captures, args.json)
        if args.json:
            return code
    out = Path(args.out)
    ok = True
    if "desk" in parts:
        desk_ok, interrupted = _demo_desk(args.duration, out)  # trading on screen right after the replays
        if interrupted:  # Ctrl-C: every strategy was stopped with cancel-all and its report written
            print("agenthft demo: interrupted; the rest of the demo skipped", file=sys.stderr)
            return int(Exit.INTERRUPTED)
        ok &= desk_ok
    if "venue" in parts:
        _demo_venue()
    if "runtime" in parts:
        ok &= _demo_runtime()
    if "offline" in parts:
        _demo_signals_and_backtest(captures, out)
    if "real-venues" in parts:
        ok &= _demo_real_venues(10.0)  # (crossings come with the underlying's jumps, ~0.3 a second)
    return code if ok else 1


def _demo_replays(captures: Captures, as_json: bool) -> int:
    """Every capture found under the folder verified against its own oracle messages; one a
    reader finds nothing to check in is shown as such, and only a failed check fails the demo."""
    reports = [r for fmt, group in captures for r in verify_files(group, fmt)]
    _print_reports(reports, as_json)
    code = 0 if all(r.checks_failed == 0 and r.gaps == 0 and r.crossed == 0 for r in reports) else 1
    if not as_json:
        total = sum(r.checks_passed for r in reports)
        failed = sum(r.checks_failed for r in reports)
        checked = sum(1 for r in reports if r.checks_passed or r.checks_failed)
        print(f"{total:,} checks passed, {failed:,} failed over {checked} checked captures\n")
    return code


def _demo_venue() -> None:
    """The embedded venue's own round trips, over WebSocket."""
    import uvloop

    from agenthft.demo import venue_session

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


def _demo_runtime() -> bool:
    """The agent runtime through a dropped socket; True when its journal is the venue's fills."""
    import uvloop

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
    return bool(agent["journal_matches_venue"])


def _demo_real_venues(seconds: float) -> bool:
    """Binance USD-M's and Hyperliquid's own protocols on loopback, nbbo-arb across them through
    the native connectors. True when each venue's own fill list is the agent's."""
    import uvloop

    from agenthft.demo import real_venues_session

    print(
        f"\nreal venues' protocols on loopback: one venue process speaking Binance USD-M (BTCUSDT, USDT) and "
        f"Hyperliquid (BTC-PERP, USDC, signed actions) over one simulated BTC; nbbo-arb across them through "
        f"agenthft's Binance and Hyperliquid connectors, {seconds:g} s (agenthft run nbbo-arb --leg "
        "bn=binance-usdm@URL --leg hl=hyperliquid@URL):"
    )
    s = uvloop.run(real_venues_session(seconds))
    if "error" in s:
        print(f"  did not run: {s['error']}")
        return False
    agree = True
    for name, v in s["venues"].items():
        same = v["fill_ids"] == v.get("venue_fill_ids")  # (absent when the venue could not be read)
        agree &= same
        print(
            f"  {name}: {v['fills']:3} fills (the venue's own list agrees: {same}), P&L after fees "
            f"{v['pnl_after_fees']:+.2f} {v['currency']}, prices rounded to the venue's rule {v['prices_rounded']}"
        )
    net = s["net_position"] or {"BTC": "0 (flat across venues)"}
    how = s.get("note") or "one currency traded"  # (the conversion is said when both legs traded)
    print(f"  total {s['net']:+.2f} {s['currency']} ({how}); net position {net}; exit {s['exit_code']}")
    return agree


def _demo_desk(seconds: float, out: Path) -> tuple[bool, bool]:
    """The desk live under the dashboard; then what each strategy did, what the supervisor did
    over MCP, and where the reports are. Returns (no order left open, interrupted by Ctrl-C)."""
    import uvloop

    from agenthft.demo import DESK, desk_session

    print(
        f"the agent's seat: {len(DESK)} strategies live on two embedded venues (desk market: spot leader, "
        f"lagging perp with manipulators, a second venue) for {seconds:g} s under the dashboard (Ctrl-C ends it):"
    )
    res = uvloop.run(desk_session(seconds, out / "demo-desk"))
    pnl = res["pnl"]
    for name, st in res["status"]["strategies"].items():
        states = ",".join(sorted({v["risk_state"] for v in st["venues"].values()}))
        print(
            f"  {name:13} on {', '.join(DESK[name][2]):17} fills {res['fills'][name]:5}  "
            f"P&L after fees {pnl['strategies'][name]['total']['after_fees']:+9.2f}  risk {states}"
        )
    print(f"  desk P&L after fees {pnl['total']['after_fees']:+.2f} USDC; {res['signals']} signal alerts; "
          f"open orders after cancel-all: {res['open_orders']}")  # fmt: skip
    mcp = res["mcp"]
    if "new_params" in mcp:
        spread = mcp["new_params"]["half_spread"]
        print(
            f"  supervisor over MCP ({mcp['url']}): read status of {len(mcp['strategies_seen'])} strategies and P&L "
            f"{mcp['pnl_at_halfway']:+.2f} halfway, then set market-maker half_spread={spread}"
        )
    for a in res["audit"]:
        print(f"    audit: {a['who']} {a['action']} {a['args']} -> {a['outcome']}")
    print(f"  the desk's report: {res['index']} (each strategy's results and HTML report beside it:)")
    for name, files in res["files"].items():
        print(f"    {name:13} {files[-1]}")
    print("  (an AI agent drives the same controls over MCP: agenthft run ... --mcp PORT; docs/agents.md)\n")
    return res["open_orders"] == 0, bool(res["interrupted"])


def _demo_signals_and_backtest(captures: Captures, out: Path) -> None:
    """The offline side: detectors scored on the simulator, and a latency sweep in backtest."""
    from agenthft.backtest import Backtest, Constant
    from agenthft.lab.signal_eval import evaluate
    from agenthft.strategies import Quoter

    report = evaluate("manipulated", seeds=2, seconds=30)
    print("\nmicrostructure detectors on the simulated manipulated market (2 seeds x 30 s, labels unseen):")
    for sc in report.scores:
        p = "-" if sc.precision is None else f"{sc.precision:.2f}"
        r = "-" if sc.recall is None else f"{sc.recall:.2f}"
        print(f"  {sc.kind:15} episodes {sc.episodes:4}  detections {sc.detections:4}  precision {p}  recall {r}")
    print("\nbacktest: the quoter on the simulated calm market, 20 s, at three of the article's latencies:")
    for us in (300, 6000, 50000):
        bt = Backtest(Quoter("BTC-PERP", "0.01", 2, "60000"), "calm", 20, Constant(us, us, us), seed=1)
        res = _run(bt, f"quoter at {us / 1000:g} ms", 20)
        s = res.summary
        print(
            f"  {us / 1000:6.1f} ms per leg: {s.orders:4} orders, {s.fills:4} fills, maker share {s.maker_share:.0%}, "
            f"P&L after fees {s.pnl_after_fees:+.2f} USDC ({res.events_per_s:,.0f} events/s)"
        )
        if us == 300:
            written = res.write(out / "demo-quoter-calm")
            html_report = written[-1]
    print(f"  the 0.3 ms run's results and HTML report: {html_report}")
    from agenthft.strategies import LatencyArb, LatencyArbParams

    print("\nthe article's claim: latency arbitrage on lead-lag (perp makers reprice 10 ms late), 10 s:")
    for us in (50, 2000, 10000):
        arb = Backtest(LatencyArb.from_params(LatencyArbParams()), "lead-lag", 10, Constant(us, us, us), seed=4)
        s = _run(arb, f"latency-arb at {us / 1000:g} ms", 10).summary
        print(f"  {us / 1000:6.2f} ms per leg: {s.fills:4} fills, P&L after fees {s.pnl_after_fees:+.2f} USDC")
    _demo_recorded_and_multi_venue(captures)


def _demo_recorded_and_multi_venue(captures: Captures) -> None:
    """Recorded data through the L2 model (decoded once into the Parquet cache), and one
    strategy on two simulated venues on one clock."""
    import time

    from agenthft.backtest import Backtest, Constant
    from agenthft.backtest.data import DataBacktest
    from agenthft.market.cache import EventCache
    from agenthft.market.sources import load_events
    from agenthft.strategies.bbo_quoter import BboQuoter
    from agenthft.strategies.nbbo_arb import NbboArb
    from agenthft.venue.config import load_config

    futures = [(fmt, g) for fmt, g in captures if fmt == "binance" and len(g) == 1]
    if futures:
        files = futures[0][1]
        cache = EventCache()
        t0 = time.perf_counter()
        events = load_events(files, cache=cache)
        loaded = time.perf_counter() - t0
        how = "read from the Parquet cache" if cache.hits else "decoded and cached"
        market = events.markets[0]
        print(f"\nrecorded data: {files[0].name} ({market.market}), {len(events):,} rows {how} in {loaded:.2f} s;")
        print("  bbo-quoter at the touch, L2 model with queue-ahead, 300 us per leg, maker 2 bp / taker 5 bp:")
        for q in ("pessimistic", "proportional", "optimistic"):
            bt = DataBacktest(BboQuoter(market.market, ticks=0), events, Constant(300, 300, 300), queue=q)
            res = _run(bt, f"bbo-quoter, {q} queue", (bt.end_ns - bt.start_ns) / 1e9)
            s = res.summary
            print(
                f"    {q:12} cancels: {s.orders:5} orders, {s.fills:4} fills, P&L after fees {s.pnl_after_fees:+.2f} "
                f"({res.events_per_s:,.0f} rows/s)"
            )
    print("\ntwo venues on one clock (cross-venue: venue b reprices 5-17 ms late), nbbo-arb, 20 s, 100 us per leg:")
    bt2 = Backtest(
        NbboArb(["agenthft:BTC-PERP", "venue-b:BTCUSDT"], qty="0.01"),
        "cross-venue",
        20,
        Constant(100, 100, 100),
        seed=5,
        venue_config=[load_config("default"), load_config("venue-b")],
        max_net={"BTC": "0.05"},
    )
    s = _run(bt2, "nbbo-arb on two venues", 20).summary
    print(
        f"  {s.fills} fills, P&L after fees {s.pnl_after_fees:+.2f} (fees {s.fees:.2f}), final positions "
        f"{s.final_position or 'flat'}"
    )


def _run(bt: Any, what: str, seconds: float) -> Any:
    """`bt.run()` with its progress: a bar on a terminal, a line every few seconds elsewhere."""
    from agenthft.progress import Progress

    with Progress("agenthft demo", what, seconds, unit="s of market time") as bar:
        return bt.run(lambda now, end: bar.update(now / 1e9, end / 1e9))


def add_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the most complete end-to-end job available")
    demo.add_argument(
        "--data",
        metavar="DIR",
        help=f"folder of recorded captures (default: $AGENTHFT_DATA or {DEFAULT_DATA} where they hold captures, "
        "else the sample capture shipped with agenthft)",
    )
    demo.add_argument("--json", action="store_true", help="print the replay reports as JSON (no live part)")
    demo.add_argument(
        "--duration", type=float, default=30.0, help="seconds of the live desk under the dashboard (Ctrl-C ends it)"
    )
    demo.add_argument("--out", default="results", help="folder for the live desk's and the backtests' reports")
    demo.add_argument(
        "--part",
        action="append",
        choices=PARTS,
        help="run only this part (repeat for several; default: all, in the order listed)",
    )
    demo.set_defaults(func=cmd_demo)
