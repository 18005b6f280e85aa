"""Helpers shared by the readers of tabular and snapshot-only sources (Tardis, Hyperliquid,
Databento, LOBSTER): the grid from every value in the data, snapshots turned into level
changes, and a snapshot's levels off a given grid (dropped behind the top, an error at it)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from agenthft.market.events import ASK, BID, LEVEL, CaptureFormatError, Events
from agenthft.market.feeds.grid import StepFinder, grid_note
from agenthft.model import Grid, GridError, Instrument, InstrumentKind


def instrument_from_data(
    symbol: str,
    prices: Iterable[str],
    sizes: Iterable[str],
    instruments: dict[str, Instrument] | None,
    source: str,
    kind: InstrumentKind = InstrumentKind.PERP,
) -> tuple[Instrument, str]:
    """(instrument, note): from the instrument file when it names `symbol`, else the largest
    steps every recorded price and size shares (stated in the note)."""
    known = (instruments or {}).get(symbol)
    if known is not None:
        return (
            known,
            f"{symbol}: tick {known.tick_size} and lot {known.lot_size} from the instrument file "
            f"({known.contract_text})",
        )
    pf, sf = StepFinder(), StepFinder()
    pf.update(prices)
    sf.update(sizes)
    tick, lot = pf.result()[0], sf.result()[0]
    if tick is None or lot is None:
        raise CaptureFormatError(f"{source}: no prices for {symbol} to infer its grid from; pass --instrument")
    base, _, quote = symbol.replace("_", "-").replace("/", "-").partition("-")
    inst = Instrument(symbol, base or symbol, quote or "?", kind, tick_size=tick, lot_size=lot)
    note = (
        f"{symbol}: tick {tick} and lot {lot} inferred from every recorded price and size (the largest steps they "
        f"share: {grid_note(pf, sf)}; pass --instrument for the venue's own)"
    )
    if not quote:
        note += "; its quote currency is not in the data (shown as '?'; an instrument file names it)"
    return inst, note


def side_on_grid(
    grid: Grid, raw: Iterable[tuple[str, str]], bid: bool, given: bool, where: str, dropped: list[str]
) -> dict[int, int]:
    """One side of a recorded snapshot in ticks and lots. A level off the grid: with an
    inferred grid, impossible (an error); with a given one, dropped (and listed in `dropped`)
    when another level of the side is better, else an error naming `where`."""
    rows = list(raw)
    pt, ql = grid.price_to_ticks, grid.qty_to_lots
    try:
        return {pt(p): ql(q) for p, q in rows if Decimal(q)}
    except GridError as e:
        if not given:
            raise CaptureFormatError(f"{where}: {e}") from None
    out: dict[int, int] = {}
    off: list[tuple[str, str]] = []
    for p, q in rows:
        if not Decimal(q):
            continue
        try:
            out[pt(p)] = ql(q)
        except GridError:
            off.append((p, q))
    for p, q in off:
        best = (max(out) if bid else min(out)) if out else None
        price = Decimal(p)
        if best is None or (
            price >= Decimal(grid.ticks_to_price(best)) if bid else price <= Decimal(grid.ticks_to_price(best))
        ):
            raise CaptureFormatError(
                f"{where}: {'bid' if bid else 'ask'} {p} x {q} is off the instrument file's grid at the top of the "
                "book "
                "(pass --instrument with the venue's grid, or none to infer it from the whole file)"
            )
        dropped.append(f"{where}: {'bid' if bid else 'ask'} {p} x {q}")
    return out


class SnapshotDiffer:
    """Full (or top-N) book snapshots -> the level changes between consecutive ones, so a
    snapshot-only source feeds the same LEVEL rows as a diff stream. A level that left the
    snapshot is removed (for a top-N snapshot: it left the window, which is all we know)."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.snapshots = 0

    def diff(
        self, bids: dict[int, int], asks: dict[int, int]
    ) -> tuple[bool, list[tuple[int, int]], list[tuple[int, int]]]:
        """(first, bid changes, ask changes) from the previous snapshot to this one: the first
        snapshot whole (best first), then per side the levels that left (qty 0) and those that
        changed. The one implementation of the diffing, for recorded data (`apply`) and live
        (connectors/hyperliquid)."""
        if not self.snapshots:
            self.bids, self.asks, self.snapshots = bids, asks, 1
            return True, sorted(bids.items(), reverse=True), sorted(asks.items())
        out: list[list[tuple[int, int]]] = []
        for old, new in ((self.bids, bids), (self.asks, asks)):
            changes = [(p, 0) for p in old.keys() - new.keys()]
            changes += [(p, q) for p, q in new.items() if old.get(p) != q]
            out.append(changes)
        self.bids, self.asks = bids, asks
        self.snapshots += 1
        return False, out[0], out[1]

    def apply(
        self,
        ev: Events,
        ts_local: int,
        ts_exch: int,
        market: int,
        bids: dict[int, int],
        asks: dict[int, int],
        seq: int = 0,
    ) -> int:
        """Emit one message of LEVEL rows (or nothing if the book did not change); returns rows."""
        first, db, da = self.diff(bids, asks)
        if first:
            ev.snapshot(ts_local, ts_exch, market, db, da, seq)
            return len(bids) + len(asks) + 1
        n = 0
        for sign, changes in ((BID, db), (ASK, da)):
            for p, q in changes:
                ev.add(ts_local, ts_exch, market, LEVEL, sign, p, q, 0, seq)
                n += 1
        if n:
            ev.end_message()
        return n
