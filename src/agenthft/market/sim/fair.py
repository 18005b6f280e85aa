"""The latent fair value the simulated participants trade around: a seeded random walk in
integer ticks with occasional jumps. Pure and deterministic for a given seed."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import deque
from fractions import Fraction


class FairValue:
    """`vol_ticks` is the standard deviation of one second's move, in ticks; jumps arrive at
    `jump_rate` per second with a size drawn from +-`jump_ticks`. `tick`: the price of one of its
    ticks (the tick size of the market it was made for), so that every market and venue sharing
    it converts the same way, whatever their own tick sizes."""

    def __init__(
        self,
        start: int,
        vol_ticks: float,
        jump_rate: float = 0.0,
        jump_ticks: int = 0,
        seed: int = 1,
        tick: Fraction = Fraction(1),
    ) -> None:
        self.tick = tick
        self.value = start
        self.vol = vol_ticks
        self.jump_rate = jump_rate
        self.jump_ticks = jump_ticks
        self._rng = random.Random(seed)
        self._frac = 0.0  # sub-tick drift carried between steps, so small steps still move
        self.jumps: list[tuple[int, int]] = []  # (ns, size) for ground truth
        self.t_ns = 0  # the time the value is at: advancing is idempotent, so simulations can share it
        self._times: deque[int] = deque([0], maxlen=100_000)  # recent history, for lagged views
        self._values: deque[int] = deque([start], maxlen=100_000)

    def step(self, dt_ns: int, now_ns: int) -> int:
        dt = dt_ns / 1e9
        move = self._rng.gauss(0.0, self.vol * math.sqrt(dt)) + self._frac
        whole = int(move)
        self._frac = move - whole
        self.value += whole
        if self.jump_rate and self._rng.random() < self.jump_rate * dt:
            size = self._rng.choice((-1, 1)) * self._rng.randint(max(1, self.jump_ticks // 2), self.jump_ticks)
            self.value += size
            self.jumps.append((now_ns, size))
        self.value = max(1, self.value)
        self.record(now_ns)
        return self.value

    def advance(self, t_ns: int) -> int:
        """Move the value forward to `t_ns` (no-op if it is already there or later)."""
        if t_ns > self.t_ns:
            self.step(t_ns - self.t_ns, t_ns)
            self.t_ns = t_ns
        return self.value

    def record(self, now_ns: int) -> None:
        if self._values[-1] != self.value:
            self._times.append(now_ns)
            self._values.append(self.value)

    def value_at(self, t_ns: int) -> int:
        """The fair value as it was at `t_ns` (within the kept history)."""
        i = bisect_right(self._times, t_ns) - 1
        return self._values[max(0, i)]
