"""The agent's offline shell: the same agent core on a simulated clock.

The venue is the venue's own core (`venue.core.Venue`: the matching engine, keys, rate limits,
the wire format) with no sockets; the market is the simulator's participants acting on its
engine; the agent is the live `Runner` (books, OMS, risk, signals, the strategy's `Context`)
with the simulated clock injected and a session that posts to an event heap. Between them, a
`LatencyModel`: a venue message reaches the agent after the feed (market data) or response
(acks, fills, cancels) latency, an order reaches the venue after the order latency. Everything
is deterministic: same inputs, same events, same results files.

What the model includes: price-time priority and the simulator's participants reacting to the
agent's orders (L3, true queues), the venue's fees/rebates and per-key rate limits, latency on
all three legs. What it leaves out: the venue's own processing time and message batching, and
network loss (each leg is one FIFO connection: a message never overtakes an earlier one).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from agenthft.backtest.results import Recorder, Results
from agenthft.connectors.agenthft.codec import Codec, cancel_all_message, cancel_message, order_message
from agenthft.connectors.port import AccountSnapshot, AmendRequest, Caps, OrderRequest, PortListener, VenueLimits
from agenthft.connectors.simulated.latency import LatencyModel
from agenthft.market.sim.scenario import Scenario, build, load_scenario
from agenthft.market.sim.simulation import Simulation
from agenthft.model import Instrument
from agenthft.protocol import messages as pm
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.runtime.gcpolicy import frozen
from agenthft.runtime.multi import MultiRunner, VenueLeg, split
from agenthft.runtime.telemetry import BatchedTelemetry
from agenthft.strategies.base import Strategy
from agenthft.venue.config import VenueConfig, load_config
from agenthft.venue.core import Venue

_FEED = (pm.BookUpdate, pm.BookSnapshot, pm.TradeMsg, pm.Ticker)


class SimPort:
    """The venue port of a simulator backtest: the agent speaks agenthft's protocol to the venue's
    core (the same codec as the live connector), through the event heap instead of a socket."""

    name = "backtest"
    caps = Caps(cancel_on_disconnect="(a backtest never disconnects)")
    connected = True
    reconnects = 0
    rtt_ns = 0

    def __init__(self, bt: Backtest, side: _VenueSide) -> None:
        self.bt, self.side = bt, side
        self.url = f"backtest://{side.name}"
        self.codec: Codec | None = None
        self.by_name = {i.market: i for i in side.cfg.markets}

    def bind(self, listener: PortListener) -> None:
        self.codec = Codec(listener, self.by_name)

    async def instruments(self) -> list[Instrument]:
        return list(self.side.cfg.markets)

    async def limits(self) -> VenueLimits:
        return VenueLimits()

    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.bind(listener)

    def resubscribe(self, market: str) -> None:
        self.bt.to_venue({"type": "unsubscribe", "channel": "orderbook", "market": market}, self.side)
        self.bt.to_venue({"type": "subscribe", "channel": "orderbook", "market": market, "depth": 0}, self.side)

    def place(self, req: OrderRequest) -> bool:
        assert self.codec is not None
        self.codec.markets[req.order_id] = req.market
        self.bt.to_venue(order_message(req, self.by_name[req.market]), self.side)
        return True

    def cancel(self, order_id: str, market: str) -> bool:
        self.bt.to_venue(cancel_message(order_id), self.side)
        return True

    def cancel_all(self, market: str | None = None) -> bool:
        self.bt.to_venue(cancel_all_message(market), self.side)
        return True

    def amend(self, req: AmendRequest) -> bool:
        return False

    async def snapshot(self) -> AccountSnapshot:
        return AccountSnapshot([], [])

    async def ping(self) -> int:
        return 0

    async def close(self) -> None:
        pass

    def drop(self) -> None:
        pass


class _VenueTransport:
    """The venue's side of the agent's connection: each message onto the heap, to arrive at the
    agent after the feed or the response latency."""

    def __init__(self, bt: Backtest, side: _VenueSide) -> None:
        self.bt, self.side = bt, side
        self.closed = ""

    def send(self, data: bytes) -> None:
        self.bt.from_venue(data, self.side)

    def close(self, code: int, reason: str) -> None:
        self.closed = f"{code} {reason}"

    def buffered(self) -> int:
        return 0

    def send_at_once(self, data: bytes) -> None:
        self.bt.from_venue(data, self.side)  # every message is handed over when sent


class _VenueSide:
    """One venue on the backtest's clock: its core, its simulated market, the agent's connection
    to it (one FIFO each way) and the runner that trades there."""

    def __init__(self, cfg: VenueConfig) -> None:
        self.cfg = cfg
        self.name = cfg.venue.name
        self.venue = Venue(cfg)
        self.last_up = self.last_down = 0
        self.runner: Runner | None = None
        self.port: SimPort | None = None
        self.vsession: Any = None  # the venue's session of the agent's connection


class Backtest:
    def __init__(
        self,
        strategy: Strategy,
        scenario: str | Scenario,
        seconds: float,
        latency: LatencyModel,
        seed: int | None = None,
        risk: RiskConfig | None = None,
        venue_config: VenueConfig | list[VenueConfig] | None = None,
        sample_ms: float = 100.0,
        max_net: dict[str, str] | None = None,
    ) -> None:
        """`venue_config`: one venue, or several on one clock (then the strategy names its markets
        `VENUE:MARKET` and runs under a `MultiRunner`; `max_net` caps its net exposure per base)."""
        cfgs = venue_config if isinstance(venue_config, list) else [venue_config or load_config()]
        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
        if seed is not None:
            sc = msgspec.structs.replace(sc, seed=seed)
        self.scenario, self.seconds, self.latency = sc, seconds, latency
        self.now = 0
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = 0
        self.deliveries = 0
        self.recorder = Recorder(sample_ms)
        self.sides = [_VenueSide(c) for c in cfgs]
        underlyings: dict[str, Any] = {}  # venues of one run quote one fair value per underlying
        self.sims = [
            build(sc, v.cfg.markets, v.venue.engine, set(v.venue.engine.markets), underlyings, start_ns=0)
            for v in self.sides
        ]
        self.runner: Runner | MultiRunner
        self.multi = len(self.sides) > 1
        if self.multi:
            self._attach_multi(strategy, risk, max_net)
        else:
            self._attach_one(strategy, risk)
        self.venue = self.sides[0].venue
        self.sim = self.sims[0]

    def _session(self, side: _VenueSide, agent: str) -> VenueLimits:
        _, _, key = side.venue.register(agent, 0)
        side.vsession = side.venue.open_session(_VenueTransport(self, side), key)
        side.port = SimPort(self, side)
        tier = side.cfg.tier(key.tier)
        return VenueLimits(tier.orders_per_s, tier.cancels_per_s, tier.rest_per_min, side.venue.key_limits(key))

    def _subscribe(self, side: _VenueSide, markets: list[str]) -> None:
        self.to_venue({"type": "subscribe", "channels": ["orderbook", "trades"], "markets": markets, "depth": 0}, side)

    def _attach_one(self, strategy: Strategy, risk: RiskConfig | None) -> None:
        side = self.sides[0]
        limits = self._session(side, "backtest-agent")
        assert side.port is not None
        runner = Runner(strategy, side.port, risk=risk, clock=self._clock)
        runner.telemetry = BatchedTelemetry()  # simulated latencies repeat: counted, not recorded one by one
        runner.raise_strategy_errors = True  # a research run stops at a strategy's bug, with its traceback
        side.port.bind(runner)
        self.runner = side.runner = runner
        self._subscribe(side, list(strategy.markets or side.venue.engine.markets))
        runner.attach(side.cfg.markets, limits)
        self.recorder.hook(runner)

    def _attach_multi(self, strategy: Strategy, risk: RiskConfig | None, max_net: dict[str, str] | None) -> None:

        limits = {v.name: self._session(v, f"backtest-agent-{v.name}") for v in self.sides}
        legs = [VenueLeg(v.name, v.port, risk) for v in self.sides if v.port is not None]
        self.runner = MultiRunner(strategy, legs, max_net=max_net, clock=self._clock)
        attach = {}
        for v in self.sides:
            r = self.runner.runners[v.name]
            r.telemetry = BatchedTelemetry()
            r.raise_strategy_errors = True
            v.runner = r
            assert v.port is not None
            v.port.bind(r)
            self.recorder.hook(r)
            mine = [name for venue, name in map(split, strategy.markets) if venue == v.name]
            self._subscribe(v, mine)
            attach[v.name] = (v.cfg.markets, limits[v.name])
        self.runner.attach(attach)

    def _clock(self) -> int:
        return self.now

    def _push(self, t: int, fn: Callable[[int], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, fn))

    # --- the two legs ---------------------------------------------------------------------
    def to_venue(self, msg: msgspec.Struct | dict[str, Any], side: _VenueSide | None = None) -> None:
        v = side or self.sides[0]
        raw = pm.encoder.encode(msg)
        # one TCP connection each way: FIFO, whatever the jitter draws (a message never overtakes)
        at = v.last_up = max(v.last_up, self.now + self.latency.order_ns())
        vs = v.vsession
        self._push(at, lambda t: v.venue.on_message(vs, raw, t))

    def from_venue(self, data: bytes, side: _VenueSide | None = None) -> None:
        v = side or self.sides[0]
        msg = pm.server_decoder.decode(data)
        lat = self.latency.feed_ns() if isinstance(msg, _FEED) else self.latency.response_ns()
        at = v.last_down = max(v.last_down, self.now + lat)
        self._push(at, lambda t: self._deliver(v, msg, t))

    def _deliver(self, v: _VenueSide, msg: pm.ServerMessage, t: int) -> None:
        self.deliveries += 1
        assert v.port is not None and v.port.codec is not None
        v.port.codec.feed(msg, t)

    # --- the loop --------------------------------------------------------------------------------
    def _loop(
        self,
        end: int,
        pairs: Sequence[tuple[Simulation, Callable[[int], None]]],
        progress: Callable[[int, int], None] | None,
    ) -> int:
        """Every event up to `end` in time order; returns the steps taken."""
        heap = self._heap
        steps = 0
        next_report = 0
        while True:
            t_sim, sim, publish = end + 1, pairs[0][0], pairs[0][1]
            for s_, p_ in pairs:  # the simulation due first (ties: the first venue)
                t = s_.next_event_ns()
                if t is not None and t < t_sim:
                    t_sim, sim, publish = t, s_, p_
            t_bt = heap[0][0] if heap else end + 1
            if min(t_sim, t_bt) > end:
                break
            if t_sim <= t_bt:
                self.now = t_sim
                sim.run(t_sim, on_step=publish)
            else:
                t, _, fn = heapq.heappop(heap)
                self.now = t
                fn(t)
            steps += 1
            self.recorder.tick(self.runner, self.now)
            if progress is not None and self.now >= next_report:
                progress(self.now, end)
                next_report = self.now + end // 100
        return steps

    def run(self, progress: Callable[[int, int], None] | None = None) -> Results:
        """Process every event up to the end time in time order (ties: market before agent)."""
        end = int(self.seconds * 1e9)
        pairs = [(sim, v.venue._publish) for sim, v in zip(self.sims, self.sides, strict=True)]
        started = time.perf_counter()
        with frozen():  # what was built before the loop is not the collector's work
            steps = self._loop(end, pairs, progress)
        self.now = end
        self.recorder.tick(self.runner, end, force=True)
        wall = time.perf_counter() - started
        sc = self.scenario
        return self.recorder.summarize(
            self.runner, sc.name, sc.seed, self.seconds, repr(self.latency), steps + self.deliveries, wall
        )
