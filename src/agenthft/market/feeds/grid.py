"""Grids from the data, over whole files, and values off a given grid.

- `StepFinder`: the largest decimal step every recorded value is a multiple of. Values are
  deduplicated as text (a capture repeats the same few thousand prices and sizes), parsed
  without Decimal (digits and a decimal point) and folded into one running gcd at the finest
  precision seen, so a whole file costs one pass. It remembers where each distinct value was
  first seen, so the note can say which value last refined the grid and where (a far level
  of legacy orders under an older, finer lot, 12,000 lines into a file).
- `OffGrid`: with a grid given by an instrument file, a recorded level whose price or size is
  off it is dropped and counted when it lies behind the top of its side (legacy orders at far
  levels), and is an error naming the file and line when it would touch the top of the book.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from agenthft.book import L2Book, Level
from agenthft.model import Grid, GridError

Where = tuple[str, int]  # (file, line)


def _parse(text: str) -> tuple[int, int]:
    """(|integer digits|, decimals) of a decimal string: "61837.63000000" -> (6183763, 2)."""
    if "e" in text or "E" in text:
        d = Decimal(text).normalize()
        exp = d.as_tuple().exponent
        assert isinstance(exp, int)
        places = max(0, -exp)
        return abs(int(d.scaleb(places))), places
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    whole = whole.lstrip("+-") or "0"
    return int(whole + frac), len(frac)


class StepFinder:
    """The largest decimal step shared by every value added (zeros ignored)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[str, Where | None] = {}  # distinct value text -> where first seen

    def add(self, text: str, where: Where | None = None) -> None:
        if text not in self.seen:
            self.seen[text] = where

    def update(self, texts: Iterable[str], where: Where | None = None) -> None:
        new = set(texts).difference(self.seen)  # most values were seen before: one set operation
        if new:
            seen = self.seen
            for t in sorted(new):
                seen[t] = where

    def __len__(self) -> int:
        return len(self.seen)

    def result(self) -> tuple[str | None, tuple[str, Where | None] | None]:
        """(step as decimal text or None if no non-zero value, (value, where) that last made
        the step finer). One distinct value: only its precision is known, so the step is one
        unit of its last decimal."""
        places = 0
        g = 0
        first: int | None = None  # the first non-zero value, at `places` decimals
        distinct = False
        refined: tuple[str, Where | None] | None = None
        for text, where in self.seen.items():
            n, p = _parse(text)
            if not n:
                continue
            if p > places:
                scale = 10 ** (p - places)
                g *= scale
                if first is not None:
                    first *= scale
                places = p
            else:
                n *= 10 ** (places - p)
            if first is None:
                first = n
            elif n != first:
                distinct = True
            new = math.gcd(g, n)
            if new != g:
                if g:
                    refined = (text, where)
                g = new
        if first is None:
            return None, None
        if not distinct:
            return format(Decimal(1).scaleb(-places), "f"), None
        return format(Decimal(g).scaleb(-places).normalize(), "f"), refined


def step_of(values: Iterable[str]) -> str | None:
    """The largest decimal step that every value is a multiple of (zeros ignored), or None."""
    f = StepFinder()
    f.update(values)
    return f.result()[0]


def grid_note(prices: StepFinder, sizes: StepFinder) -> str:
    """`1,234 distinct prices, 567 sizes; the lot last refined at f.gz:12,336 by '2292.22972'`."""
    text = f"{len(prices):,} distinct prices, {len(sizes):,} sizes"
    for what, finder in (("tick", prices), ("lot", sizes)):
        _, refined = finder.result()
        if refined is not None and refined[1] is not None and refined[1][1] > 1:  # said when it came late
            value, (path, line) = refined[0], refined[1]
            text += f"; the {what} last refined at {path}:{line:,} by {value!r}"
    return text


class OffGrid:
    """Recorded levels off a given grid: dropped and counted behind the top, an error at it."""

    __slots__ = ("count", "first", "grid", "market")

    def __init__(self, grid: Grid, market: str) -> None:
        self.grid = grid
        self.market = market
        self.count = 0
        self.first: str | None = None

    def parse(
        self, raw: Iterable[tuple[str, str]] | Iterable[tuple[str, str, str, str]]
    ) -> tuple[list[Level], list[tuple[str, str]]]:
        """(levels on the grid, (price, size) texts off it)."""
        pt, ql = self.grid.price_to_ticks, self.grid.qty_to_lots
        rows = list(raw)
        try:
            return [(pt(r[0]), ql(r[1])) for r in rows], []
        except GridError:
            pass
        ok: list[Level] = []
        off: list[tuple[str, str]] = []
        for r in rows:
            try:
                ok.append((pt(r[0]), ql(r[1])))
            except GridError:
                off.append((r[0], r[1]))
        return ok, off

    def check(self, book: L2Book, bid_off: list[tuple[str, str]], ask_off: list[tuple[str, str]], where: str) -> None:
        """After the message's on-grid levels are applied: each off-grid level must lie behind the
        top of its side (else a CaptureFormatError naming `where`); those are counted."""
        from agenthft.market.events import CaptureFormatError

        g = self.grid
        for side, off in ((1, bid_off), (-1, ask_off)):
            best = book.best_bid() if side > 0 else book.best_ask()
            for price, qty in off:
                p = Decimal(price)
                behind = best is not None and (
                    p < Decimal(g.ticks_to_price(best)) if side > 0 else p > Decimal(g.ticks_to_price(best))
                )
                if not behind:
                    raise CaptureFormatError(
                        f"{where}: {'bid' if side > 0 else 'ask'} {price} x {qty} is off the grid of {self.market} "
                        f"(tick {_step(g, True)}, lot {_step(g, False)}) at the top of the book; pass --instrument "
                        "with the venue's grid, or none to infer it from the whole file"
                    )
                self.count += 1
                if self.first is None:
                    self.first = f"{where}: {'bid' if side > 0 else 'ask'} {price} x {qty}"

    def note(self) -> str | None:
        if not self.count:
            return None
        return (
            f"{self.market}: {self.count:,} recorded level(s) off the instrument file's grid, all behind the top "
            f"of the book, were dropped (first: {self.first})"
        )


def _step(g: Grid, tick: bool) -> str:
    return g.ticks_to_price(1) if tick else g.lots_to_qty(1)
