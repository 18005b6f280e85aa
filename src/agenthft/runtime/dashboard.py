"""The live terminal dashboard (`agenthft run --dashboard`): books, positions, P&L, order and
cancel rates against the venue's limits, latency percentiles, risk state and events, signal
alerts. Drawn with rich from the control plane's snapshots a few times a second, on the agent's
loop between events (never inside one); a terminal that is not a TTY gets plain lines instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from rich.console import Console, Group
from rich.layout import Layout
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from agenthft.control.plane import ControlPlane


class Dashboard:
    def __init__(self, plane: ControlPlane, levels: int = 5) -> None:
        self.plane = plane
        self.levels = levels
        self._last: tuple[float, int, int] | None = None
        self.rates = (0.0, 0.0)

    def _rates(self) -> tuple[float, float]:
        now = time.monotonic()
        runners = self.plane._runners()
        orders = sum(r.sent_orders for r in runners)
        cancels = sum(r.sent_cancels for r in runners)
        if self._last is not None and now > self._last[0]:
            dt = now - self._last[0]
            self.rates = ((orders - self._last[1]) / dt, (cancels - self._last[2]) / dt)
        self._last = (now, orders, cancels)
        return self.rates

    def _books(self) -> Table:
        t = Table(title="books (top levels)", expand=True)
        for col in ("market", "bid qty", "bid", "ask", "ask qty"):
            t.add_column(col, justify="right" if col != "market" else "left")
        for name, r in self.plane._named().items():
            for m, book in r.books.items():
                inst = r.instruments[m]
                bids, asks = book.depth(self.levels)
                for i in range(max(len(bids), len(asks), 1)):
                    b = bids[i] if i < len(bids) else None
                    a = asks[i] if i < len(asks) else None
                    t.add_row(
                        f"{name}:{m}" if i == 0 else "",
                        inst.lots_to_qty(b[1]) if b else "",
                        inst.ticks_to_price(b[0]) if b else "",
                        inst.ticks_to_price(a[0]) if a else "",
                        inst.lots_to_qty(a[1]) if a else "",
                    )
        return t

    def _account(self) -> Table:
        pnl = self.plane.pnl()["total"]
        t = Table(title="account", expand=True, show_header=False)
        t.add_column("k")
        t.add_column("v", justify="right")
        for k, v in self.plane.positions().items() or {"position": "flat"}.items():
            t.add_row(k, v)
        t.add_row("P&L after fees", f"{pnl['after_fees']:+.4f}")
        t.add_row("realized / unrealized", f"{pnl['realized']:+.4f} / {pnl['unrealized']:+.4f}")
        t.add_row("fees (negative: rebates)", f"{pnl['fees']:+.4f}")
        orders, cancels = self._rates()
        status = self.plane.status()
        for name, v in status["venues"].items():
            lim = v["circuit_breaker_per_s"]
            t.add_row(f"{name} orders/s", f"{orders:.1f} (breaker {lim}/s)")
            t.add_row(f"{name} cancels/s", f"{cancels:.1f}")
            t.add_row(f"{name} open orders", str(v["open_orders"]))
        return t

    def _latency(self) -> Table:
        t = Table(title="latency (us)", expand=True)
        for col in ("", "n", "p50", "p99", "p99.9"):
            t.add_column(col, justify="right" if col else "left")
        for snap in self.plane.latency().values():
            for h in ("tick_to_trade", "ack_rtt", "fill_latency", "ping_rtt"):
                s = snap.get(h, {})
                if s.get("count"):
                    t.add_row(h, str(s["count"]), f"{s['p50_us']:.1f}", f"{s['p99_us']:.1f}", f"{s['p99.9_us']:.1f}")
        return t

    def _risk(self) -> Group:
        status = self.plane.status()
        lines: list[Any] = []
        for name, v in status["venues"].items():
            state = v["risk_state"]
            color = {"active": "green", "reducing": "yellow"}.get(state, "red")
            conn = "connected" if v["connected"] else "DISCONNECTED"
            lines.append(f"[bold]{name}[/bold]: risk [{color}]{state}[/{color}], {conn}, reconnects {v['reconnects']}")
        for name, ev in self.plane.risk_events(limit=5).items():
            counts = ", ".join(f"{k} {n}" for k, n in sorted(ev["counts"].items())) or "none"
            lines.append(f"{name} events: {counts}")
            lines += [f"  {e}" for e in ev["recent"][-3:]]
        alerts = self.plane.signal_alerts(limit=4)
        lines.append("signals: " + (", ".join(f"{a['kind']}@{a['price']}" for a in alerts) or "none"))
        return Group(*lines)

    def render(self) -> Layout:
        layout = Layout()
        layout.split_column(Layout(name="top", ratio=3), Layout(name="bottom", ratio=2))
        layout["top"].split_row(Layout(self._books(), ratio=3), Layout(self._account(), ratio=2))
        layout["bottom"].split_row(
            Layout(self._latency(), ratio=1),
            Layout(Panel(self._risk(), title=f"{self.plane.agent.strategy.name}: risk and signals"), ratio=1),
        )
        return layout

    def line(self) -> str:
        """The plain-text progress line for terminals that are not TTYs."""
        pnl = self.plane.pnl()["total"]
        orders, cancels = self._rates()
        states = ",".join(v["risk_state"] for v in self.plane.status()["venues"].values())
        pos = ", ".join(f"{k} {v}" for k, v in self.plane.positions().items()) or "flat"
        rates = f"orders/s {orders:.1f}  cancels/s {cancels:.1f}"
        rates = f"orders/s {orders:.1f}  cancels/s {cancels:.1f}"
        return f"position {pos}  pnl {pnl['after_fees']:+.4f}  {rates}  risk {states}"

    async def run(self, stop: asyncio.Event, console: Console | None = None, refresh_s: float = 0.25) -> None:
        """Redraw until `stop` is set: a live screen on a TTY, one line a second otherwise."""
        con = console or Console(stderr=True)
        if not con.is_terminal:
            while not stop.is_set():
                con.print(f"agenthft: {self.line()}", highlight=False, soft_wrap=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            return
        with Live(self.render(), console=con, refresh_per_second=4, screen=False) as live:
            while not stop.is_set():
                live.update(self.render())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), refresh_s)
