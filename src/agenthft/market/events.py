"""The one normalised form of recorded market data: every reader (Binance, OKX, Tardis.dev,
Databento, Hyperliquid, cryptofeed, our own recorder) turns its source into these rows, and the
book replica, the venue replay and the backtest read only these.

A row is one change, in integers on its market's grid (ticks, lots, ns):

- `LEVEL`: the absolute quantity at (side, price) of an L2 book; 0 removes the level.
- `CLEAR`: the market's book is reset; the `LEVEL` rows of a snapshot follow (flag `F_SNAPSHOT`).
- `TRADE`: a trade; `side` is the aggressor's (+1 buy, -1 sell, 0 unknown).
- `ADD` / `CANCEL` / `MODIFY` / `FILL`: L3 order-by-order (`order_id`); `CANCEL` and `FILL`
  carry the quantity removed, `MODIFY` the order's new price and quantity.
- `FUNDING`: a perpetual's funding settles now (`ts_exch` = the funding time): `qty` is the rate
  in units of 1e-12 (`model.money.RATE_DECIMALS`; positive: longs pay shorts) and `price` the
  mark price in ticks (rounded to the nearest tick; 0: the consumer's own mark).

`F_LAST` marks the last row of one exchange message (a consumer applies a message whole before
it looks at the book: a half-applied diff can be crossed). Columns are plain lists of ints so
the hot loops index them directly; `to_arrow`/`from_arrow` is the columnar cache's form.
"""

from __future__ import annotations

from typing import Any

import msgspec

from agenthft.model import Instrument


class CaptureFormatError(ValueError):
    """A file no reader understands, or data a reader cannot read right (the message names the
    file, the line where there is one, and the way out)."""


LEVEL, CLEAR, TRADE, ADD, CANCEL, MODIFY, FILL, FUNDING = range(8)
KIND_NAMES = ("level", "clear", "trade", "add", "cancel", "modify", "fill", "funding")
F_LAST, F_SNAPSHOT, F_BAD_TS = 1, 2, 4
BID, ASK = 1, -1

COLUMNS = ("ts_local", "ts_exch", "market", "kind", "side", "price", "qty", "order_id", "seq", "flags")


class Meta(msgspec.Struct):
    """What the rows are: the markets (index = `market` column), the source and what was inferred."""

    source: str  # the reader: "binance", "tardis", ...
    files: list[str]
    markets: list[Instrument]
    notes: list[str] = msgspec.field(default_factory=list)
    counts: dict[str, int] = msgspec.field(default_factory=dict)  # messages per type, as read


class Events:
    """Rows of normalised market data, columns as lists of ints (see the module docstring)."""

    __slots__ = ("_arrays", "columns", "meta")

    def __init__(self, meta: Meta, columns: dict[str, list[int]] | None = None) -> None:
        self.meta = meta
        self.columns: dict[str, list[int]] = columns or {c: [] for c in COLUMNS}
        self._arrays: dict[str, Any] | None = None

    def int64_columns(self) -> dict[str, Any]:
        """The columns as contiguous int64 numpy arrays (what compiled loops index), made once:
        from the Parquet cache's Arrow columns when the rows came from it, else from the lists.
        Rows added after the first call are not in them."""
        if self._arrays is None or len(self._arrays["kind"]) != len(self):
            import numpy as np

            self._arrays = {c: np.fromiter(v, dtype=np.int64, count=len(v)) for c, v in self.columns.items()}
        return self._arrays

    def __len__(self) -> int:
        return len(self.columns["kind"])

    @property
    def markets(self) -> list[Instrument]:
        return self.meta.markets

    def market_index(self, inst: Instrument) -> int:
        """The index of `inst` in this table's markets, added if new."""
        for i, m in enumerate(self.meta.markets):
            if m.market == inst.market:
                return i
        self.meta.markets.append(inst)
        return len(self.meta.markets) - 1

    # --- building --------------------------------------------------------------------------
    def add(
        self,
        ts_local: int,
        ts_exch: int,
        market: int,
        kind: int,
        side: int = 0,
        price: int = 0,
        qty: int = 0,
        order_id: int = 0,
        seq: int = 0,
        flags: int = 0,
    ) -> None:
        c = self.columns
        c["ts_local"].append(ts_local)
        c["ts_exch"].append(ts_exch)
        c["market"].append(market)
        c["kind"].append(kind)
        c["side"].append(side)
        c["price"].append(price)
        c["qty"].append(qty)
        c["order_id"].append(order_id)
        c["seq"].append(seq)
        c["flags"].append(flags)

    def end_message(self) -> None:
        """Mark the row just added as the last of its exchange message."""
        flags = self.columns["flags"]
        if flags:
            flags[-1] |= F_LAST

    def snapshot(
        self,
        ts_local: int,
        ts_exch: int,
        market: int,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        seq: int,
    ) -> None:
        """A whole book: CLEAR, then one LEVEL row per level (one message)."""
        self.add(ts_local, ts_exch, market, CLEAR, 0, 0, 0, 0, seq, F_SNAPSHOT)
        for p, q in bids:
            self.add(ts_local, ts_exch, market, LEVEL, BID, p, q, 0, seq, F_SNAPSHOT)
        for p, q in asks:
            self.add(ts_local, ts_exch, market, LEVEL, ASK, p, q, 0, seq, F_SNAPSHOT)
        self.end_message()

    def count(self, what: str, n: int = 1) -> None:
        self.meta.counts[what] = self.meta.counts.get(what, 0) + n

    # --- combining ---------------------------------------------------------------------------
    @staticmethod
    def merge(tables: list[Events]) -> Events:
        """Several tables as one, ordered by local time (stable: ties keep table order), with
        one market list (a market named twice is one market: when two files of it were read
        onto different grids, both are put on the finer common grid, exactly)."""
        if len(tables) == 1:
            return tables[0]
        meta = Meta("+".join(dict.fromkeys(t.meta.source for t in tables)), [], [])
        out = Events(meta)
        common = _common_instruments(tables)
        keyed: list[tuple[int, int, int]] = []  # (ts_local, table, row)
        remap: list[list[int]] = []
        scales: list[list[tuple[int, int]]] = []  # per table, per market: (price x, qty x)
        for ti, t in enumerate(tables):
            meta.files += [f for f in t.meta.files if f not in meta.files]
            meta.notes += t.meta.notes
            for k, v in t.meta.counts.items():
                meta.counts[k] = meta.counts.get(k, 0) + v
            remap.append([out.market_index(common[m.market]) for m in t.markets])
            scales.append([_factors(m, common[m.market]) for m in t.markets])
            ts = t.columns["ts_local"]
            # rows of one message stay together: a message's rows share its first row's time
            keyed.extend((ts[i], ti, i) for i in range(len(t)))
        keyed.sort()
        oc = out.columns
        for _, ti, i in keyed:
            tc = tables[ti].columns
            for name in COLUMNS:
                oc[name].append(tc[name][i])
            m = tc["market"][i]
            oc["market"][-1] = remap[ti][m]
            px, qx = scales[ti][m]
            if px != 1 or qx != 1:
                kind = oc["kind"][-1]
                oc["price"][-1] *= px
                if kind != FUNDING:
                    oc["qty"][-1] *= qx
        return out

    def select(self, markets: list[str] | tuple[str, ...]) -> Events:
        """The rows of these markets only (by name), re-indexed: a backtest of one pair of a
        capture that multiplexes many (some of which a cash grid may not represent)."""
        keep = [i for i, m in enumerate(self.markets) if m.market in markets]
        if not keep:
            known = ", ".join(m.market for m in self.markets)
            raise ValueError(f"none of {list(markets)} in the data (markets: {known})")
        new = {old: k for k, old in enumerate(keep)}
        meta = Meta(
            self.meta.source, self.meta.files, [self.markets[i] for i in keep], self.meta.notes, self.meta.counts
        )
        out = Events(meta)
        c, oc = self.columns, out.columns
        for i, m in enumerate(c["market"]):
            if m in new:
                for name in COLUMNS:
                    oc[name].append(c[name][i])
                oc["market"][-1] = new[m]
        return out

    # --- the columnar form ---------------------------------------------------------------------
    def to_arrow(self) -> Any:
        import pyarrow as pa

        types = {"market": pa.int16(), "kind": pa.int8(), "side": pa.int8(), "flags": pa.int8()}
        arrays = [pa.array(self.columns[c], type=types.get(c, pa.int64())) for c in COLUMNS]
        schema = pa.schema(
            [pa.field(c, a.type) for c, a in zip(COLUMNS, arrays, strict=True)],
            metadata={b"agenthft.events": msgspec.json.encode(self.meta)},
        )
        return pa.Table.from_arrays(arrays, schema=schema)

    @staticmethod
    def from_arrow(table: Any) -> Events:
        raw = (table.schema.metadata or {}).get(b"agenthft.events")
        if raw is None:
            raise ValueError("not an agenthft events table (no 'agenthft.events' metadata)")
        meta = msgspec.json.decode(raw, type=Meta)
        out = Events(meta, {c: table.column(c).to_pylist() for c in COLUMNS})
        import numpy as np

        out._arrays = {c: np.ascontiguousarray(table.column(c).to_numpy(), dtype=np.int64) for c in COLUMNS}
        return out

    def message_ends(self) -> list[int]:
        """Row index one past the end of each message."""
        flags = self.columns["flags"]
        return [i + 1 for i, f in enumerate(flags) if f & F_LAST]


def _step_gcd(a: str, b: str) -> str:
    from decimal import Decimal
    from math import gcd

    da, db = Decimal(a), Decimal(b)
    places = max(-da.as_tuple().exponent, -db.as_tuple().exponent, 0)  # type: ignore[operator]
    g = gcd(int(da.scaleb(places)), int(db.scaleb(places)))
    return format(Decimal(g).scaleb(-places).normalize(), "f")


def _common_instruments(tables: list[Events]) -> dict[str, Instrument]:
    """Per market name, the instrument every table's rows are put on."""
    out: dict[str, Instrument] = {}
    for t in tables:
        for inst in t.markets:
            have = out.get(inst.market)
            if have is None:
                out[inst.market] = inst
                continue
            if have == inst:
                continue
            same = msgspec.structs.replace(inst, tick_size=have.tick_size, lot_size=have.lot_size, aliases=have.aliases)
            if same != have:
                raise CaptureFormatError(
                    f"market {inst.market} is read from two files as two different contracts ({have} vs {inst}); "
                    "pass --instrument to say which it is"
                )
            out[inst.market] = msgspec.structs.replace(
                have,
                tick_size=_step_gcd(have.tick_size, inst.tick_size),
                lot_size=_step_gcd(have.lot_size, inst.lot_size),
                aliases=tuple(dict.fromkeys((*have.aliases, *inst.aliases))),
            )
    return out


def _factors(inst: Instrument, common: Instrument) -> tuple[int, int]:
    from decimal import Decimal

    return int(Decimal(inst.tick_size) / Decimal(common.tick_size)), int(
        Decimal(inst.lot_size) / Decimal(common.lot_size)
    )
