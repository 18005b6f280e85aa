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
from collections.abc import Callable
from typing import Any

import msgspec

from agenthft.backtest.latency import LatencyModel
from agenthft.backtest.results import Recorder, Results
from agenthft.market.sim.scenario import Scenario, build, load_scenario
from agenthft.protocol import messages as pm
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.strategies.base import Strategy
from agenthft.venue.config import VenueConfig, load_config
from agenthft.venue.core import Venue

_FEED = (pm.BookUpdate, pm.BookSnapshot, pm.TradeMsg, pm.Ticker)


class _Always:
    def is_set(self) -> bool:
        return True


class _AgentSession:
    """What the runner sends through: onto the heap, to arrive at the venue after the order latency."""

    connected = _Always()
    reconnects = 0
    rtt_ns = 0

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt

    def send_msg(self, msg: msgspec.Struct | dict[str, object]) -> bool:
        self.bt.to_venue(msg)
        return True

    def resubscribe(self, market: str) -> None:
        self.send_msg({"type": "unsubscribe", "channel": "orderbook", "market": market})
        self.send_msg({"type": "subscribe", "channel": "orderbook", "market": market, "depth": 0})


class _VenueTransport:
    """The venue's side of the agent's connection: each message onto the heap, to arrive at the
    agent after the feed or the response latency."""

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        self.closed = ""

    def send(self, data: bytes) -> None:
        self.bt.from_venue(data)

    def close(self, code: int, reason: str) -> None:
        self.closed = f"{code} {reason}"

    def buffered(self) -> int:
        return 0


class Backtest:
    def __init__(
        self,
        strategy: Strategy,
        scenario: str | Scenario,
        seconds: float,
        latency: LatencyModel,
        seed: int | None = None,
        risk: RiskConfig | None = None,
        venue_config: VenueConfig | None = None,
        sample_ms: float = 100.0,
    ) -> None:
        cfg = venue_config or load_config()
        sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
        if seed is not None:
            sc = msgspec.structs.replace(sc, seed=seed)
        self.scenario, self.seconds, self.latency = sc, seconds, latency
        self.now = 0
        self._last_up = self._last_down = 0
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = 0
        self.deliveries = 0
        self.venue = Venue(cfg)
        self.sim = build(sc, cfg.markets, self.venue.engine, set(self.venue.engine.markets), start_ns=0)
        key_text, self.account, key = self.venue.register("backtest-agent", 0)
        self._transport = _VenueTransport(self)
        self._vsession = self.venue.open_session(self._transport, key)
        self.recorder = Recorder(sample_ms)
        self.runner = Runner(strategy, "backtest://venue", "backtest://venue", key_text, risk=risk, clock=self._clock)
        markets = list(strategy.markets or self.venue.engine.markets)
        sub = {"type": "subscribe", "channels": ["orderbook", "trades"], "markets": markets, "depth": 0}
        self.to_venue(sub)
        self.runner.attach(cfg.markets, _AgentSession(self), self.venue.key_limits(key))
        self.recorder.hook(self.runner)

    def _clock(self) -> int:
        return self.now

    def _push(self, t: int, fn: Callable[[int], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, fn))

    # --- the two legs ---------------------------------------------------------------------
    def to_venue(self, msg: msgspec.Struct | dict[str, Any]) -> None:
        raw = pm.encoder.encode(msg)
        self.recorder.sent(msg, self.now)
        # one TCP connection each way: FIFO, whatever the jitter draws (a message never overtakes)
        at = self._last_up = max(self._last_up, self.now + self.latency.order_ns())
        self._push(at, lambda t: self.venue.on_message(self._vsession, raw, t))

    def from_venue(self, data: bytes) -> None:
        msg = pm.server_decoder.decode(data)
        lat = self.latency.feed_ns() if isinstance(msg, _FEED) else self.latency.response_ns()
        at = self._last_down = max(self._last_down, self.now + lat)
        self._push(at, lambda t: self._deliver(msg, t))

    def _deliver(self, msg: pm.ServerMessage, t: int) -> None:
        self.deliveries += 1
        self.runner.on_message(msg, t)

    # --- the loop --------------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Results:
        """Process every event up to the end time in time order (ties: market before agent)."""
        end = int(self.seconds * 1e9)
        sim, heap, publish = self.sim, self._heap, self.venue._publish
        started = time.perf_counter()
        steps = 0
        next_report = 0
        while True:
            t_sim = sim.next_event_ns()
            if t_sim is None:
                t_sim = end + 1
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
        self.now = end
        self.recorder.tick(self.runner, end, force=True)
        wall = time.perf_counter() - started
        return self.recorder.results(self, steps, wall)
