"""The run report: one self-contained HTML file (plots inline as SVG, no scripts, no network)
beside the JSON summary, built from a results folder's Parquet files (`agenthft report DIR`;
`backtest --out` writes it too).

Plots: P&L over time with risk events marked, fills on the price chart, latency histograms
(fill latency: venue event -> the agent saw it; ack round trip: order sent -> ack), inventory
per market, and the risk events on the timeline. Each is an `<svg>` inside
`<figure class="plot" id="...">`, so a browser (or a test) can find it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


def _read(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    if not path.is_file():
        return []
    return list(pq.read_table(path).to_pylist())


def _figure(pid: str, caption: str, svg: str) -> str:
    body = svg[svg.find("<svg") :]  # drop the XML prolog: the SVG is inline
    return f'<figure class="plot" id="{pid}">{body}<figcaption>{html.escape(caption)}</figcaption></figure>'


# --- the rows of a results folder's tables (one schema for a backtest, a live run, a journal) -----
def event_row(
    event: str,
    agent_ns: int,
    order_id: str,
    *,
    venue_ns: int | None = None,
    side: str = "",
    price: str = "",
    qty: str = "",
    fee: float | None = None,
    liquidity: str = "",
    market: str = "",
) -> dict[str, Any]:
    """One row of `events.parquet`: every row has every column (Parquet needs one schema),
    whether a backtest, a live run or a journal wrote it."""
    return {"event": event, "agent_ns": agent_ns, "venue_ns": venue_ns, "order_id": order_id, "side": side,
            "price": price, "qty": qty, "fee": fee, "liquidity": liquidity, "market": market}  # fmt: skip


def risk_row(ts_ns: int, reason: str, action: str, value: str, limit: str, market: str) -> dict[str, Any]:
    """One row of `risk.parquet`."""
    return {"t_ns": ts_ns, "reason": reason, "action": action, "value": value, "limit": limit, "market": market}


def build_report(results: str | Path, out: str | Path | None = None) -> Path:
    from agenthft.plots import histogram, lines, timeline

    d = Path(results)
    summary = json.loads((d / "summary.json").read_text())
    equity = _read(d / "equity.parquet")
    events = _read(d / "events.parquet")
    risk = _read(d / "risk.parquet")
    t0 = equity[0]["t_ns"] if equity else 0

    def sec(ns: int) -> float:
        return (ns - t0) / 1e9

    figures = []
    by_action: dict[str, list[float]] = {}  # risk events: (reason, action) -> seconds
    by_reason: dict[str, dict[str, list[float]]] = {}
    for r in risk:
        by_action.setdefault(r["action"], []).append(sec(r["t_ns"]))
        by_reason.setdefault(r["reason"], {}).setdefault(r["action"], []).append(sec(r["t_ns"]))
    ts = [sec(r["t_ns"]) for r in equity]
    currency = summary.get("currency", "quote currency")
    figures.append(
        _figure(
            "pnl",
            f"P&L after fees (mark to the venue's mark), {currency}; markers along the bottom: risk events by "
            "action (their reasons in the risk timeline)",
            lines(
                {"P&L after fees": (ts, [r["equity"] for r in equity])},
                "P&L over time",
                "seconds",
                currency,
                markers=False,
                events={f"risk: {a}": xs for a, xs in sorted(by_action.items())},
            ),
        )
    )
    markets = sorted({k.split(":", 1)[1] for r in equity[:1] for k in r if k.startswith("mark:")})
    fills = [e for e in events if e["event"] == "fill"]
    for m in markets[:2]:
        marks = [(sec(r["t_ns"]), r[f"mark:{m}"]) for r in equity if r.get(f"mark:{m}") is not None]
        mine = [f for f in fills if f.get("market", m) == m] if any("market" in f for f in fills) else fills
        buys = [(sec(f["agent_ns"]), float(f["price"])) for f in mine if f["side"] == "buy"]
        sells = [(sec(f["agent_ns"]), float(f["price"])) for f in mine if f["side"] == "sell"]
        figures.append(
            _figure(
                f"fills-{m}".replace(":", "-"),
                f"{m}: the mark and the agent's fills",
                lines(
                    {"mark": ([x for x, _ in marks], [y for _, y in marks])},
                    f"fills on the price: {m}",
                    "seconds",
                    "price",
                    markers=False,
                    zero_line=False,
                    points={
                        "buys": ([x for x, _ in buys], [y for _, y in buys]),
                        "sells": ([x for x, _ in sells], [y for _, y in sells]),
                    },
                ),
            )
        )
    fill_lat = [(f["agent_ns"] - f["venue_ns"]) / 1e3 for f in fills if f.get("venue_ns")]
    sent = {e["order_id"]: e["agent_ns"] for e in events if e["event"] == "order"}
    acks = [
        (e["agent_ns"] - sent[e["order_id"]]) / 1e3 for e in events if e["event"] == "ack" and e["order_id"] in sent
    ]
    figures.append(_figure("latency-fill", "fill latency (us)", histogram(fill_lat, "fill latency", "microseconds")))
    figures.append(_figure("latency-ack", "ack round trip (us)", histogram(acks, "ack round trip", "microseconds")))
    inventory = {
        m: (ts, [r.get(f"position_lots:{m}", 0) for r in equity])
        for m in sorted({k.split(":", 1)[1] for r in equity[:1] for k in r if k.startswith("position_lots:")})
    }
    figures.append(
        _figure(
            "inventory", "position per market, lots", lines(inventory, "inventory", "seconds", "lots", markers=False)
        )
    )
    reasons = sorted(by_reason)
    figures.append(
        _figure(
            "risk",
            "risk events by reason (one named row each, with its count), marked by action: "
            + (", ".join(reasons) or "none"),
            timeline(
                {reason: by_reason[reason] for reason in reasons},
                "risk events on the timeline",
                "seconds",
                xlim=(ts[0], ts[-1]) if ts else None,
            ),
        )
    )

    def cell(v: Any) -> str:
        return html.escape(json.dumps(v) if isinstance(v, dict) else str(v))

    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{cell(v)}</td></tr>" for k, v in summary.items())
    warnings = "".join(
        f'<p class="warning" style="background:#fee;border:1px solid #c00;padding:6px">warning: {html.escape(w)}</p>'
        for w in summary.get("warnings") or []
    )
    title = f"agenthft report: {summary.get('strategy', '')} on {summary.get('scenario', '')}"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}} figure{{margin:1.5em 0}}
svg{{max-width:100%;height:auto}}</style></head>
<body><h1>{html.escape(title)}</h1>
{warnings}<table class="summary">{rows}</table>
{"".join(figures)}
</body></html>
"""
    target = Path(out) if out is not None else d / "report.html"
    target.write_text(page)
    return target


def build_index(folder: str | Path, title: str | None = None) -> Path:
    """`index.html` for a folder of results folders (the demo's desk, one per strategy): a table
    of each one's summary linking to its report; returns its path."""
    d = Path(folder)
    runs = sorted(p.parent for p in d.glob("*/summary.json"))
    if not runs:
        raise ValueError(f"{d} holds no results folders (each with a summary.json)")
    cols = ("strategy", "scenario", "seconds", "fills", "orders", "maker_share", "fees", "pnl_after_fees")
    head = "".join(f"<th>{c}</th>" for c in ("run", *cols, "final_position", "risk_counts"))
    rows, total = [], 0.0
    for run in runs:
        sm = json.loads((run / "summary.json").read_text())
        total += float(sm.get("pnl_after_fees", 0.0))
        link = f'<a href="{html.escape(run.name)}/report.html">{html.escape(run.name)}</a>'
        cells = [_cell(sm.get(c)) for c in (*cols, "final_position", "risk_counts")]
        rows.append(f"<tr><td>{link}</td>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    name = title or f"agenthft results: {d.name}"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)}</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:2em auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} td:first-child{{text-align:left}}</style>
</head><body><h1>{html.escape(name)}</h1>
<p>{len(runs)} runs, P&amp;L after fees in all: {total:+.4f}</p>
<table id="runs"><tr>{head}</tr>{"".join(rows)}</table></body></html>
"""
    path = d / "index.html"
    path.write_text(page)
    return path


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict):
        return html.escape(", ".join(f"{k} {x}" for k, x in v.items()) or "-")
    return html.escape("-" if v is None else str(v))


def results_from_journal(journal: str | Path, out: str | Path) -> Path:
    """A run's results folder rebuilt from its SQLite journal (orders, acks, fills, cancels,
    rejects, risk events, and the instruments the run traded), then its report. The journal
    holds no market data, so the mark is each market's last fill price: P&L is marked to where
    the agent last traded, and the price chart shows the fills without the book's mid."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agenthft.model.money import cash_float
    from agenthft.oms import OrderManager
    from agenthft.runtime.journal import apply, read

    entries = list(read(journal))
    known = [e.instruments for e in entries if e.instruments is not None]
    if not known:
        raise ValueError(f"{journal}: no instruments recorded (a journal from before this version)")
    instruments = {i.market: i for i in known[-1]}
    oms = OrderManager(list(instruments.values()), prefix="r")
    events: list[dict[str, Any]] = []
    equity: list[dict[str, Any]] = []
    risk: list[dict[str, Any]] = []
    last: dict[str, int] = {}
    fills = orders = cancels = 0

    for e in entries:
        ts, oid = e.ts_ns, e.order_id
        apply(oms, e)
        if e.new is not None:
            r = e.new
            inst = instruments[r.market]
            orders += 1
            price = "" if r.price is None else inst.ticks_to_price(r.price)
            events.append(
                event_row(
                    "order", ts, oid, side=r.side.value, market=r.market, qty=inst.lots_to_qty(r.qty), price=price
                )
            )
        elif e.kind == "ack":
            events.append(event_row("ack", ts, oid))
        elif e.fill is not None:
            f = e.fill
            inst = instruments[f.market]
            fills += 1
            last[f.market] = f.price
            events.append(
                event_row("fill", ts, oid, venue_ns=f.ts_ns, side=f.side.value, market=f.market,
                          price=inst.ticks_to_price(f.price), qty=inst.lots_to_qty(f.qty), fee=cash_float(f.fee))
            )  # fmt: skip
            pnl = oms.pnl(last)
            point: dict[str, Any] = {"t_ns": ts, "equity": cash_float(pnl.net), "fees": cash_float(pnl.fees)}
            for m, i in instruments.items():
                p = oms.positions.get(m)
                point[f"position_lots:{m}"] = p.size if p is not None else 0
                point[f"mark:{m}"] = i.ticks_to_float(last[m]) if m in last else None
            equity.append(point)
        elif e.kind == "cancel_ack":
            events.append(event_row("cancel_ack", ts, oid))
        elif e.kind == "cancel_request":
            cancels += 1
        elif e.kind == "reject":
            events.append(event_row("reject", ts, oid, liquidity=e.code))
        elif e.funding is not None:
            fu = e.funding
            events.append(event_row("funding", ts, "", venue_ns=fu.ts_ns, market=fu.market,
                                    fee=cash_float(fu.amount), price=instruments[fu.market].ticks_to_price(fu.mark)
                                    if fu.market in instruments else ""))  # fmt: skip
        elif e.kind == "risk" and isinstance(e.other, dict) and "reason" in e.other:
            ev = e.other
            fields = (ev.get(k, "") for k in ("reason", "action", "value", "limit", "market"))
            risk.append(risk_row(ev.get("ts_ns", ts), *fields))
    if not equity:
        equity.append({"t_ns": entries[0].ts_ns if entries else 0, "equity": 0.0, "fees": 0.0})
    pnl = oms.pnl(last)
    summary = {
        "strategy": "journal",
        "scenario": f"live run journaled at {journal}",
        "orders": orders,
        "cancels": cancels,
        "fills": fills,
        "currency": pnl.currency,
        "realized": cash_float(pnl.realized),
        "fees": cash_float(pnl.fees),
        "funding": cash_float(pnl.funding),
        "pnl_after_fees_at_last_fills": cash_float(pnl.net),
        "final_position": {m: instruments[m].lots_to_qty(p.size) for m, p in sorted(oms.positions.items())},
        "risk_events": len(risk),
    }
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    for name, data in (("events", events), ("equity", equity), ("risk", risk)):
        pq.write_table(pa.Table.from_pylist(data) if data else pa.table({}), d / f"{name}.parquet")
    (d / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return build_report(d)
