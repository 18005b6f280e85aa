"""GC discipline for the hot loop, as the article advises, measured by Telemetry.watch_gc.

- `freeze()` after warm-up moves everything allocated so far (config, books, code objects) out
  of the collector's reach, so full collections stop rescanning it.
- `disable_in_hot_loop`: automatic collection off; `maybe_collect(now_ns)` runs a young-gen
  collection only when the loop has been quiet for `quiet_ms`, and a full one at most every
  `full_every_s`.
- `frozen()`: the same freeze for a bounded loop (a backtest's run): its inputs (event columns,
  millions of list slots) were walked again by every collection; on a 466,576-row capture that
  was a quarter of a backtest's first run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen() -> Iterator[None]:
    """Objects alive now are out of the collector's reach until the block ends (what the block
    allocates is collected as usual)."""
    if not gc.isenabled() or gc.get_freeze_count():  # the collector is managed already (a live runner's freeze)
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class GcPolicy:
    def __init__(self, disable_in_hot_loop: bool = False, quiet_ms: float = 5.0, full_every_s: float = 60.0) -> None:
        self.disable_in_hot_loop = disable_in_hot_loop
        self.quiet_ns = int(quiet_ms * 1e6)
        self.full_every_ns = int(full_every_s * 1e9)
        self._last_busy = 0
        self._last_full = 0
        self.collections = 0

    def after_warmup(self, now_ns: int) -> None:
        gc.collect()
        gc.freeze()
        self._last_full = now_ns
        if self.disable_in_hot_loop:
            gc.disable()

    def busy(self, now_ns: int) -> None:
        self._last_busy = now_ns

    def maybe_collect(self, now_ns: int) -> bool:
        """Collect if automatic GC is off and the loop is quiet; True if it did."""
        if not self.disable_in_hot_loop or now_ns - self._last_busy < self.quiet_ns:
            return False
        full = now_ns - self._last_full >= self.full_every_ns
        gc.collect(2 if full else 0)
        if full:
            self._last_full = now_ns
        self.collections += 1
        return True

    def restore(self) -> None:
        gc.enable()
        gc.unfreeze()
