"""A desk of five strategies: order-ack round trip per strategy, each strategy in its own process vs
all five in one process vs each strategy alone, in the same run on the same venue.

The venue and its simulated market run in their own process (`agenthft venue --config default
--config venue-b --sim desk`: the spot leader, the perp with every labelled manipulator, the perp
on a second venue). Each mode is `agenthft desk FILE --duration S` as a user runs it: `processes`
(the default: a process per strategy), `one_process` (`--in-process`), `alone` (each strategy by
itself, `--in-process`, one after the other), optionally `pinned` (a process per strategy, pinned
round-robin over this machine's CPUs). The figures are each strategy's own HdrHistogram of ack RTT
(order written -> order_ack read, `Runner.telemetry.ack_rtt`), from the desk's JSON summary, with
its two legs split at the venue's receive time (`ack_to_venue`, `ack_from_venue`: the venue is on
this host, one clock); the ratios are against `alone`, measured in the same run. A strategy on two
venues (nbbo-arb) is reported per venue; a p99 of fewer than 100 round trips (nbbo-arb trades on
rare crossings) is shown but not judged. Rounds repeat every mode (`--rounds`, interleaved) and
report each round, so the machine's noise shows, and the median over rounds of each ratio (the goal
is judged on it, and per round). `--favour NAME` adds a mode `favoured`: a process per strategy
with every other one at `nice = 10` (the desk file's per-strategy niceness), the trade-off a small
machine can make for its most latency-sensitive strategy; the goal is not judged on it.
`--venue-own-cpu` puts the venue, which stands in for a remote exchange, on a CPU of its own and
every agent process (all modes alike) on the others, so that the ratios measure the agents' side of
the desk. Prints JSON.

    .venv/bin/python bench/desk.py [--seconds 10] [--rounds 3] [--pinned] [--favour NAME] [--venue-own-cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import emit

# the demo's desk: name -> (strategy, parameters, the venues it trades on)
DESK: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "market-maker": ("market-maker", {"market": "BTC-PERP"}, ("agenthft",)),
    "latency-arb": ("latency-arb", {"leader": "BTC-USDC", "follower": "BTC-PERP"}, ("agenthft",)),
    "nbbo-arb": ("nbbo-arb", {"markets": ["agenthft:BTC-PERP", "venue-b:BTCUSDT"]}, ("agenthft", "venue-b")),
    "bbo-quoter": ("bbo-quoter", {"market": "BTCUSDT"}, ("venue-b",)),
    "quoter": ("quoter", {"market": "BTC-USDC", "qty": "0.001", "half_spread": 20}, ("agenthft",)),
}


def register(rest: str, agent: str) -> str:
    body = json.dumps({"agent_id": agent}).encode()
    req = urllib.request.Request(f"{rest}/api/v1/register", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(json.load(r)["api_key"])


def toml_value(v: Any) -> str:
    return json.dumps(v)  # strings and lists of strings, numbers: the same in TOML


def desk_file(
    folder: Path,
    venues: dict[str, tuple[str, str]],
    keys: dict[str, dict[str, str]],
    names: list[str],
    cpus: bool,
    favour: str | None = None,
) -> Path:
    """A desk TOML of `names` (the demo's strategies), each on its accounts; `cpus`: pinned
    round-robin; `favour`: every other strategy's process gets `nice = 10`."""
    lines = []
    for v, (ws, rest) in venues.items():
        lines += [f"[venues.{v}]", f'ws = "{ws}"', f'rest = "{rest}"', ""]
    available = sorted(os.sched_getaffinity(0))
    for i, name in enumerate(names):
        kind, params, _ = DESK[name]
        lines += ["[[strategies]]", f'name = "{name}"', f'strategy = "{kind}"']
        lines.append("keys = { " + ", ".join(f'{v} = "{k}"' for v, k in keys[name].items()) + " }")
        lines.append("params = { " + ", ".join(f"{k} = {toml_value(x)}" for k, x in params.items()) + " }")
        if len(keys[name]) > 1:
            lines.append('max_net = { BTC = "0.05" }')
        if cpus:
            lines.append(f"cpu = {available[i % len(available)]}")
        if favour is not None and name != favour:
            lines.append(f"nice = {FAVOUR_NICE}")
        lines.append("")
    path = folder / f"desk-{'-'.join(names)}{'-pinned' if cpus else ''}{'-favour-' + favour if favour else ''}.toml"
    path.write_text("\n".join(lines))
    return path


async def run_desk(path: Path, seconds: float, in_process: bool) -> dict[str, Any]:
    """`agenthft desk PATH --duration S`; each strategy's (and each leg's) ack RTT percentiles."""
    mode = ["--in-process"] if in_process else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "desk", str(path), "--duration", str(seconds),
        "--cancel-on-exit", "--quiet", *mode, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"agenthft desk {path.name} ended with exit code {proc.returncode}")
    try:
        summary = json.loads(out)
    except json.JSONDecodeError as e:
        where = out[e.pos - 80 : e.pos + 80]
        raise RuntimeError(f"agenthft desk {path.name} printed no JSON summary ({e}): {where!r}") from None
    figures: dict[str, Any] = {}
    for name, s in summary["strategies"].items():
        runs = {name: s} if "telemetry" in s else {f"{name}@{v}": leg for v, leg in s["venues"].items()}
        for label, r in runs.items():
            tel = r["telemetry"]
            ack = tel["ack_rtt"]
            figures[label] = {k: ack.get(k, 0) for k in ("count", "p50_us", "p99_us", "p99.9_us")}
            for leg in ("ack_to_venue", "ack_from_venue"):  # the venue is on this host: one clock
                if tel.get(leg, {}).get("count"):
                    figures[label][leg] = {k: tel[leg][k] for k in ("p50_us", "p99_us")}
    return figures


FAVOUR_NICE = 10  # `--favour NAME`: the others' niceness
MIN_FOR_P99 = 100  # round trips: fewer, and the p99 is the worst one or two


def ratios(mode: dict[str, Any], alone: dict[str, Any], key: str) -> dict[str, float | None]:
    return {s: round(f[key] / alone[s][key], 2) if alone.get(s, {}).get(key) else None for s, f in mode.items()}


def judged(mode: dict[str, Any], alone: dict[str, Any]) -> list[str]:
    """The strategies with enough round trips in both runs for their p99s to be compared."""
    return [s for s, f in mode.items() if min(f["count"], alone.get(s, {}).get("count", 0)) >= MIN_FOR_P99]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds each desk runs")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="repeat every mode, interleaved (one round means little on a small machine)",
    )
    parser.add_argument("--pinned", action="store_true", help="also a process per strategy pinned to a CPU")
    parser.add_argument(
        "--favour",
        choices=list(DESK),
        help=f"also a process per strategy with every other one at nice = {FAVOUR_NICE} (mode favoured)",
    )
    parser.add_argument(
        "--venue-own-cpu",
        action="store_true",
        help="the venue (a stand-in for a remote exchange) on the first CPU, every agent process on the others",
    )
    args = parser.parse_args()
    from agenthft.demo import spawn_venues

    load_before = os.getloadavg()
    cpus = sorted(os.sched_getaffinity(0))
    split = args.venue_own_cpu and len(cpus) > 1
    if split:  # children inherit this process's CPUs: the venue gets the first, what starts after it the rest
        os.sched_setaffinity(0, cpus[:1])
    venue, venues = await spawn_venues("--config", "default", "--config", "venue-b", "--sim", "desk")
    if split:
        os.sched_setaffinity(0, cpus[1:])
    try:
        keys = {n: {v: register(venues[v][1], f"bench-desk-{n}") for v in DESK[n][2]} for n in DESK}
        names = list(DESK)
        rounds: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for _ in range(args.rounds):
                modes: dict[str, Any] = {}
                modes["processes"] = await run_desk(desk_file(folder, venues, keys, names, False), args.seconds, False)
                modes["one_process"] = await run_desk(desk_file(folder, venues, keys, names, False), args.seconds, True)
                alone: dict[str, Any] = {}
                for n in names:
                    alone |= await run_desk(desk_file(folder, venues, keys, [n], False), args.seconds, True)
                modes["alone"] = alone
                if args.pinned:
                    modes["pinned"] = await run_desk(desk_file(folder, venues, keys, names, True), args.seconds, False)
                if args.favour:
                    path = desk_file(folder, venues, keys, names, False, args.favour)
                    modes["favoured"] = await run_desk(path, args.seconds, False)
                p99 = {m: ratios(f, alone, "p99_us") for m, f in modes.items() if m != "alone"}
                p50 = {m: ratios(f, alone, "p50_us") for m, f in modes.items() if m != "alone"}
                met = {s: (p99["processes"][s] or 0) <= 2.0 for s in judged(modes["processes"], alone)}
                rounds.append(
                    {
                        "ack_rtt_us": modes,
                        "p99_vs_alone": p99,
                        "p50_vs_alone": p50,
                        "goal_processes_p99_le_2x_alone": met,
                        "too_few_for_p99": sorted(set(modes["processes"]) - set(met)),
                    }
                )
    finally:
        venue.terminate()
        await venue.wait()
    median = {
        m: {s: statistics.median(r["p99_vs_alone"][m][s] or 0 for r in rounds) for s in rounds[0]["p99_vs_alone"][m]}
        for m in rounds[0]["p99_vs_alone"]
    }
    judged_everywhere = set.intersection(*(set(r["goal_processes_p99_le_2x_alone"]) for r in rounds))
    emit(
        "desk",
        {
            "scenario": "desk (two venues in one process: default, venue-b)",
            "cpus": {"venue": cpus[:1], "agents": cpus[1:]} if split else {"everything": cpus},
            "seconds_per_desk": args.seconds,
            "load_average": {"before": [round(x, 2) for x in load_before], "after": list(os.getloadavg())},
            "rounds": rounds,
            "p99_vs_alone_median_over_rounds": median,
            "goal_met_on_the_median": {s: median["processes"][s] <= 2.0 for s in sorted(judged_everywhere)},
            "goal_met_every_round": all(all(r["goal_processes_p99_le_2x_alone"].values()) for r in rounds),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
