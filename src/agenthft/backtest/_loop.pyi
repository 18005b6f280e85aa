# The compiled loop of a recorded-data backtest (_loop.pyx).
from collections.abc import Callable
from typing import Any

class Loop:
    def __init__(self, bt: Any) -> None: ...
    def run(self, progress: Callable[[int, int], None] | None = None) -> int: ...
