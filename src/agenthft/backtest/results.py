"""What a backtest produced: every order message, ack, fill and cancel with both clocks (the
venue's event time and the agent's receive time), the position and equity curve, and a summary.

Files (`Results.write(dir)`): `events.parquet`, `equity.parquet`, `summary.json`. Byte-identical
for the same inputs: nothing from the wall clock goes into them (the run's speed is printed,
not written).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from agenthft.connectors.port import (
    Ack,
    CancelAllRequest,
    CancelRequest,
    Done,
    Filled,
    Funding,
    OrderEvent,
    OrderRequest,
    Rejected,
    Request,
)
from agenthft.model import Instrument, Liquidity, from_scaled
from agenthft.model.money import CASH_DECIMALS, RATE_DECIMALS, cash_float
from agenthft.oms.positions import by_currency
from agenthft.report import build_report, event_row, risk_row
from agenthft.risk import RiskEvent
from agenthft.risk.engine import money_limits
from agenthft.runtime.runner import Observer, Runner

if TYPE_CHECKING:
    from agenthft.runtime.multi import MultiRunner


class Summary(msgspec.Struct):
    strategy: str
    scenario: str  # the simulator's scenario, or the recorded data's source and files
    seed: int
    seconds: float
    latency: str
    currency: str  # of every money figure here (the markets' settlement asset; see pnl_note)
    pnl_after_fees: float  # realized - fees - funding + unrealized at the end (mark: last trade, else mid)
    realized: float
    unrealized: float
    fees: float  # negative: rebates received
    funding: float  # funding paid on perp positions (negative: received)
    orders: int
    cancels: int
    fills: int
    fill_ratio: float  # orders with at least one fill / orders sent
    maker_share: float  # maker fills / fills
    max_drawdown: float
    max_abs_position: dict[str, str]  # per market, decimals on its grid
    mean_abs_position: dict[str, str]
    final_position: dict[str, str]
    risk_counts: dict[str, int]
    events: int  # market steps plus messages delivered to the agent
    pnl_by_currency: dict[str, dict[str, float | str]] = msgspec.field(default_factory=dict)
    pnl_note: str = ""  # how several settlement currencies were added up (when they were)
    contracts: dict[str, str] = msgspec.field(default_factory=dict)  # per market: linear / inverse, size, settlement
    warnings: list[str] = msgspec.field(default_factory=list)  # what the numbers cannot be trusted for
    risk_limits: dict[str, str] = msgspec.field(default_factory=dict)  # the money controls in force ("0": off)
    rejects: dict[str, Any] = msgspec.field(default_factory=dict)  # the venue's: faults, benign, by code


class Results:
    """A run's summary, equity curve, risk events and event log. The event log's rows (decimal
    text of every order message, answer and fill) are made when first read (`events`, `write`):
    a sweep that keeps only summaries never pays for them."""

    def __init__(
        self,
        summary: Summary,
        events: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]],
        equity: list[dict[str, Any]],
        wall_s: float = 0.0,
        events_per_s: float = 0.0,
        risk: list[dict[str, Any]] | None = None,
    ) -> None:
        self.summary, self.equity, self.wall_s, self.events_per_s = summary, equity, wall_s, events_per_s
        self.risk = risk if risk is not None else []
        self._events = events

    @property
    def events(self) -> list[dict[str, Any]]:
        if callable(self._events):
            self._events = self._events()
        return self._events

    def write(self, out: str | Path, report: bool = True) -> list[Path]:
        """The Parquet files and the JSON summary; with `report`, the HTML report beside them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        paths = [d / "events.parquet", d / "equity.parquet", d / "risk.parquet", d / "summary.json"]
        for path, rows in ((paths[0], self.events), (paths[1], self.equity), (paths[2], self.risk)):
            table = pa.Table.from_pylist(rows) if rows else pa.table({})
            pq.write_table(table, path, compression="zstd")
        paths[3].write_text(json.dumps(msgspec.to_builtins(self.summary), indent=2, sort_keys=True) + "\n")
        if report:
            paths.append(build_report(d))
        return paths


T = TypeVar("T")
_ROWS = (Funding, Ack, Done, Rejected)  # the answers kept as rows besides fills


class _PerValue(Generic[T]):
    """`convert(instrument, value)`, each (market, value) converted once: a run repeats its
    prices, sizes and marks thousands of times."""

    def __init__(self, convert: Callable[[Instrument, int], T]) -> None:
        self.convert = convert
        self.done: dict[tuple[str, int], T] = {}

    def __call__(self, inst: Instrument, value: int) -> T:
        key = (inst.market, value)
        out = self.done.get(key)
        if out is None:
            out = self.done[key] = self.convert(inst, value)
        return out


class _Texts:
    """Decimal text of ticks and lots (the event log's columns)."""

    def __init__(self) -> None:
        self.price = _PerValue(Instrument.ticks_to_price)
        self.qty = _PerValue(Instrument.lots_to_qty)


def _event_row(t: int, x: Request | OrderEvent, instruments: dict[str, Instrument], texts: _Texts) -> dict[str, Any]:
    """The `events.parquet` row of what the recorder kept."""
    if isinstance(x, OrderRequest):
        inst = instruments[x.market]
        price = "" if x.price is None else texts.price(inst, x.price)
        return event_row("order", t, x.order_id, side=x.side.value, price=price, qty=texts.qty(inst, x.qty),
                         market=x.market)  # fmt: skip
    if isinstance(x, CancelRequest):
        return event_row("cancel", t, x.order_id, market=x.market)
    if isinstance(x, CancelAllRequest):
        return event_row("cancel_all", t, "", market=x.market or "")
    if isinstance(x, Filled):
        f = x.fill
        inst = instruments[f.market]
        return event_row("fill", t, f.order_id, venue_ns=f.ts_ns, side=f.side.value, market=f.market,
                         price=texts.price(inst, f.price), qty=texts.qty(inst, f.qty),
                         fee=cash_float(f.fee, CASH_DECIMALS), liquidity=x.liquidity.value)  # fmt: skip
    if isinstance(x, Funding):
        inst = instruments[x.market]
        return event_row("funding", t, "", venue_ns=x.ts_ns, market=x.market, price=texts.price(inst, x.mark),
                         qty=texts.qty(inst, x.position), fee=cash_float(x.amount, CASH_DECIMALS),
                         liquidity=f"rate {from_scaled(x.rate, RATE_DECIMALS)}")  # fmt: skip
    if isinstance(x, Ack):
        return event_row("ack", t, x.order_id, venue_ns=x.ts_ns)
    if isinstance(x, Done):
        return event_row("cancel_ack", t, x.order_id, venue_ns=x.ts_ns)
    assert isinstance(x, Rejected)
    return event_row("reject", t, x.order_id, venue_ns=x.ts_ns, liquidity=x.code)


class Recorder(Observer):
    """Taps the runner: what it sent (with the agent's time) and what it received (with the
    venue's event time and the agent's receive time), as the runner's observer; samples equity
    every `sample_ms`."""

    def __init__(self, sample_ms: float = 100.0) -> None:
        self.sample_ns = int(sample_ms * 1e6)
        #: (agent time, request or event, the runner that saw it): made into `events` rows at the end
        self._raw: list[tuple[int, Request | OrderEvent, Runner]] = []
        self.equity: list[dict[str, Any]] = []
        self._next = 0
        self.orders = self.cancels = self.fills = self.maker_fills = 0
        self.risk: list[dict[str, Any]] = []
        self._received = 0  # order events seen (fills and funding move the equity)
        self._last: tuple[tuple[int, int, int], dict[str, int], dict[str, Any]] | None = None  # (what, marks, row)
        self._mark_float = _PerValue(Instrument.ticks_to_float)  # the equity rows' mark columns

    def hook(self, runner: Runner) -> None:
        runner.observers.append(self)

    def on_sent(self, runner: Runner, req: Request, t: int) -> None:
        """Counted now, kept as it is: the row's text (decimal prices) is made once at the end,
        not in the loop (a backtest sends thousands)."""
        if isinstance(req, OrderRequest):
            self.orders += 1
        elif isinstance(req, CancelRequest):
            self.cancels += 1
        elif not isinstance(req, CancelAllRequest):
            return
        self._raw.append((t, req, runner))

    def on_received(self, runner: Runner, ev: OrderEvent, t: int) -> None:
        self._received += 1
        if isinstance(ev, Filled):
            if ev.fill.market not in runner.instruments:
                return
            self.fills += 1
            self.maker_fills += ev.liquidity is Liquidity.MAKER
        elif not isinstance(ev, _ROWS):
            return
        self._raw.append((t, ev, runner))

    def event_rows(self) -> list[dict[str, Any]]:
        """Every order message, answer, fill and funding payment as `events.parquet` rows."""
        texts = _Texts()
        return [_event_row(t, x, runner.instruments, texts) for t, x, runner in self._raw]

    def on_event(self, runner: Runner, kind: str, payload: Any) -> None:
        if kind == "risk":
            self.risk_event(payload)

    def risk_event(self, ev: RiskEvent) -> None:
        if len(self.risk) < 10_000:  # bounded: a flood of denials is counted anyway
            self.risk.append(risk_row(ev.ts_ns, ev.reason.value, ev.action, ev.value, ev.limit, ev.market))

    def tick(self, runner: Runner | MultiRunner, now: int, force: bool = False) -> None:
        if now < self._next and not force:
            return
        self._next = now + self.sample_ns
        if type(runner) is Runner:
            self.equity.append(self._sample(runner, now))
            return
        snap = runner.snapshot()
        pnl = snap.session
        row: dict[str, Any] = {
            "t_ns": now,
            "equity": cash_float(pnl.net),
            "fees": cash_float(pnl.fees),
            "funding": cash_float(pnl.funding),
        }
        for m, st in snap.markets.items():  # one column per market: lots are not comparable across markets
            row[f"position_lots:{m}"] = st.position_lots
            row[f"mark:{m}"] = st.mark_value  # for the report's price chart (display only)
        self.equity.append(row)

    def _sample(self, runner: Runner, now: int) -> dict[str, Any]:
        """The equity row of one runner: the snapshot's figures without the rest of it, and the
        previous row's figures again when no order event and no mark moved since (a backtest
        samples thousands of times)."""
        marks = runner.marks()
        last = self._last
        # what moves the account: order events, and fills or closes a reconciliation brought
        what = (self._received, len(runner.oms.seen_fills), runner.reconcile_count)
        if last is not None and last[0] == what and last[1] == marks:
            return {**last[2], "t_ns": now}
        pnl = runner.session_pnl(marks)
        row: dict[str, Any] = {
            "t_ns": now,
            "equity": cash_float(pnl.net),
            "fees": cash_float(pnl.fees),
            "funding": cash_float(pnl.funding),
        }
        positions = runner.oms.positions
        for m in runner.books:  # the snapshot's markets: one column per market
            p = positions.get(m)
            mark = marks.get(m)
            row[f"position_lots:{m}"] = p.size if p is not None else 0
            row[f"mark:{m}"] = None if mark is None else self._mark_float(runner.instruments[m], mark)
        self._last = (what, marks, row)
        return row

    def summarize(
        self, r: Runner | MultiRunner, source: str, seed: int, seconds: float, latency: str, events: int, wall_s: float
    ) -> Results:
        """The summary of a run of `r` over `source` (a scenario, or recorded data)."""
        pnl = r.session_pnl(r.marks())
        peak, drawdown = float("-inf"), 0.0
        for row in self.equity:
            peak = max(peak, row["equity"])
            drawdown = max(drawdown, peak - row["equity"])
        drawdown = round(drawdown, 8)
        filled_orders = sum(1 for o in r.oms.orders.values() if o.filled and not o.external)
        max_abs, mean_abs = {}, {}
        for m in r.books:
            lots = [abs(row[f"position_lots:{m}"]) for row in self.equity]
            max_abs[m] = r.instruments[m].lots_to_qty(max(lots) if lots else 0)
            mean_abs[m] = r.instruments[m].lots_to_qty(sum(lots) // len(lots) if lots else 0)
        warnings = []
        views = sum(x.book_views for x in _legs(r))
        if not views:
            warnings.append(
                "the strategy never saw a book (0 on_book calls over the run): its results say nothing about "
                "quoting or reacting to the market; check the data's markets against the strategy's"
            )
        summary = Summary(
            r.strategy.name,
            source,
            seed,
            seconds,
            latency,
            pnl.currency,
            cash_float(pnl.net),
            cash_float(pnl.realized),
            cash_float(pnl.unrealized),
            cash_float(pnl.fees),
            cash_float(pnl.funding),
            self.orders,
            self.cancels,
            self.fills,
            filled_orders / self.orders if self.orders else 0.0,
            self.maker_fills / self.fills if self.fills else 0.0,
            drawdown,
            max_abs,
            mean_abs,
            {m: r.instruments[m].lots_to_qty(p.size) for m, p in sorted(r.oms.positions.items())},
            dict(sorted(r.risk.counts.items())),
            events,
            {c: p.as_dict() for c, p in by_currency(r.session_parts(r.marks())).items()},
            pnl.note,
            {m: i.contract_text for m, i in sorted(r.instruments.items()) if m in r.books},
            warnings,
            money_limits(_legs(r)[0].risk.config),
            rejects=r.risk.reject_summary(),
        )
        return Results(summary, self.event_rows, self.equity, wall_s, events / wall_s if wall_s else 0.0, self.risk)


def _legs(r: Runner | MultiRunner) -> list[Runner]:
    from agenthft.runtime.multi import sessions

    return list(sessions(r).values())


class LiveRecording:
    """The same results files and report for a live run: the recorder taps the agent's
    messages (every venue's, for a MultiRunner), its sessions' sends and a sampler on the wall
    clock (`agenthft run --out DIR`, the demo)."""

    def __init__(self, agent: Runner | MultiRunner, sample_ms: float = 100.0) -> None:
        import time

        self.runner = agent
        self.recorder = Recorder(sample_ms)
        from agenthft.runtime.multi import sessions

        for r in sessions(agent).values():
            self.recorder.hook(r)
        self.started = time.time_ns()
        self._wall = time.perf_counter()

    def tick(self) -> None:
        import time

        self.recorder.tick(self.runner, time.time_ns())

    def write(self, out: str | Path, source: str) -> list[Path]:
        import time

        now = time.time_ns()
        self.recorder.tick(self.runner, now, force=True)
        wall = time.perf_counter() - self._wall
        results = self.recorder.summarize(self.runner, source, 0, (now - self.started) / 1e9, "live", 0, wall)
        return results.write(out)


class DeskRecording:
    """Each agent's live recording (`LiveRecording`), written to OUT/NAME, with the desk's
    index page over them (`report.build_index`)."""

    def __init__(self, agents: dict[str, Any]) -> None:
        self.recordings = {name: LiveRecording(agent) for name, agent in agents.items()}

    def tick(self) -> None:
        for rec in self.recordings.values():
            rec.tick()

    def write(self, out: str | Path, source: str, title: str | None = None) -> dict[str, list[Path]]:
        """Per agent its files (the report last); `index` -> [the index page]."""
        from agenthft.report import build_index

        files = {name: rec.write(Path(out) / name, f"{source} ({name})") for name, rec in self.recordings.items()}
        files["index"] = [build_index(out, title)]
        return files
