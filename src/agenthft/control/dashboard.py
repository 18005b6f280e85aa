"""The live terminal dashboard (`agenthft run --dashboard`, `agenthft dashboard URL`, the demo):
books, and per strategy and venue its position, P&L, order and cancel rates against the venue's
limits, latency percentiles, risk state and events, signal alerts.

It draws the control plane's `view()` snapshots and nothing else, so it can run anywhere the
plane can be read: on a terminal, drawing costs rich tens of milliseconds a frame, which would
stall the strategies' loop, so `agenthft run --dashboard` draws it in a child process that
polls `GET /v1/view` (`agenthft dashboard URL`); the trading loop only builds the snapshot (a
few ms). A terminal that is not a TTY gets one plain line a second, built in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

View = dict[str, Any]


class Dashboard:
    def __init__(self, fetch: Callable[[], Awaitable[View]]) -> None:
        """`fetch`: the next view (the plane's `view()`, in-process or over HTTP)."""
        self.fetch = fetch
        self._last: dict[tuple[str, str], tuple[float, int, int]] = {}
        self.rates: dict[tuple[str, str], tuple[float, float]] = {}

    def _update_rates(self, view: View) -> None:
        """Orders and cancels sent per second, per strategy and venue, since the last view."""
        now = view["t"]
        for row in view["rows"]:
            key = (row["strategy"], row["venue"])
            last = self._last.get(key)
            if last is not None and now > last[0]:
                dt = now - last[0]
                self.rates[key] = ((row["sent_orders"] - last[1]) / dt, (row["sent_cancels"] - last[2]) / dt)
            self._last[key] = (now, row["sent_orders"], row["sent_cancels"])

    @staticmethod
    def _who(row: dict[str, Any]) -> str:
        return row["strategy"] if row["venue"] == "venue" else f"{row['strategy']}@{row['venue']}"

    def _books(self, view: View) -> Table:
        t = Table(title="books (top levels)", expand=True)
        for col in ("market", "bid qty", "bid", "ask", "ask qty"):
            t.add_column(col, justify="right" if col != "market" else "left")
        for b in view["books"]:
            bids, asks = b["bids"], b["asks"]
            for i in range(max(len(bids), len(asks), 1)):
                bid = bids[i] if i < len(bids) else ("", "")
                ask = asks[i] if i < len(asks) else ("", "")
                t.add_row(b["market"] if i == 0 else "", bid[1], bid[0], ask[0], ask[1])
        return t

    def _strategies(self, view: View) -> Table:
        t = Table(title=f"strategies: P&L after fees {view['pnl_after_fees']:+.4f}", expand=True)
        for col in ("strategy", "position", "P&L after fees", "fills", "open", "orders/s", "cancels/s", "risk"):
            t.add_column(col, justify="left" if col in ("strategy", "position", "risk") else "right")
        for row in view["rows"]:
            orders, cancels = self.rates.get((row["strategy"], row["venue"]), (0.0, 0.0))
            pos = ", ".join(f"{m} {q}" for m, q in row["positions"].items()) or "flat"
            lim_o = row["venue_orders_per_s"] or row["circuit_breaker_per_s"]
            lim_c = row["venue_cancels_per_s"] or "-"
            state = row["risk_state"]
            color = {"active": "green", "reducing": "yellow"}.get(state, "red")
            conn = "" if row["connected"] else " DISCONNECTED"
            t.add_row(
                self._who(row),
                pos,
                f"{row['pnl_after_fees']:+.4f}",
                str(row["fills"]),
                str(row["open_orders"]),
                f"{orders:.0f}/{lim_o:g}",
                f"{cancels:.0f}/{lim_c:g}" if lim_c != "-" else f"{cancels:.0f}",
                f"[{color}]{state}[/{color}]{conn}",
            )
        return t

    def _latency(self, view: View) -> Table:
        t = Table(title="latency (us)", expand=True)
        for col in ("", "n", "p50", "p99", "p99.9"):
            t.add_column(col, justify="right" if col else "left")
        for s in view["latency"]:
            t.add_row(
                f"{self._who(s)} {s['histogram']}",
                str(s["count"]),
                f"{s['p50_us']:.0f}",
                f"{s['p99_us']:.0f}",
                f"{s['p99.9_us']:.0f}",
            )
        return t

    def _risk(self, view: View) -> Group:
        lines: list[Any] = []
        for row in view["rows"]:
            counts = ", ".join(f"{k} {n}" for k, n in row["risk_counts"].items())
            rejects = row.get("rejects") or {}
            if rejects.get("faults") or rejects.get("benign"):
                seen = f"rejects: faults {rejects['faults']} benign {rejects['benign']}"
                counts = f"{counts}, {seen}" if counts else seen
            if counts:
                lines.append(f"{self._who(row)}: {counts}")
                lines += [f"  {e[:110]}" for e in row["risk_recent"]]
        if not lines:
            lines.append("no risk events")
        sig = view["signals"]
        shown = ", ".join(f"{x['kind']}@{x['price']}" for x in sig["recent"])
        lines.append(f"signals ({sig['count']}): {shown or 'none'}")
        return Group(*lines)

    def render(self, view: View) -> Table:
        """Two rows of two panes, as a grid sized to its content."""
        self._update_rates(view)
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=2)
        grid.add_column(ratio=3)
        grid.add_row(self._books(view), self._strategies(view))
        grid.add_row(self._latency(view), Panel(self._risk(view), title="risk and signals"))
        return grid

    def line(self, view: View) -> str:
        """The plain-text progress line for terminals that are not TTYs."""
        self._update_rates(view)
        parts = []
        for row in view["rows"]:
            orders, cancels = self.rates.get((row["strategy"], row["venue"]), (0.0, 0.0))
            pos = ", ".join(f"{m} {q}" for m, q in row["positions"].items()) or "flat"
            parts.append(
                f"{self._who(row)} position {pos} fills {row['fills']} pnl {row['pnl_after_fees']:+.2f} "
                f"orders/s {orders:.0f} cancels/s {cancels:.0f} risk {row['risk_state']}"
            )
        return "  |  ".join([f"pnl {view['pnl_after_fees']:+.4f}", *parts])

    async def run(self, stop: asyncio.Event, console: Console | None = None, refresh_s: float = 0.25) -> None:
        """Redraw until `stop` is set: a live screen on a TTY, one line a second otherwise."""
        con = console or Console(stderr=True)
        if not con.is_terminal:
            while not stop.is_set():
                con.print(f"agenthft: {self.line(await self.fetch())}", highlight=False, soft_wrap=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
            return
        with Live(self.render(await self.fetch()), console=con, auto_refresh=False, screen=False) as live:
            while not stop.is_set():
                live.update(self.render(await self.fetch()), refresh=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), refresh_s)


def local(plane: Any, levels: int = 3) -> Callable[[], Awaitable[View]]:
    """Views straight from a control plane in this process."""

    from agenthft.control.plane import settle

    async def fetch() -> View:
        view: View = await settle(plane.view(levels))
        return view

    return fetch


def remote(url: str, token: str, session: Any, levels: int = 3) -> Callable[[], Awaitable[View]]:
    """Views from a control plane over HTTP (`GET URL/v1/view`)."""
    headers = {"Authorization": f"Bearer {token}"}

    async def fetch() -> View:
        async with session.get(f"{url}/v1/view", params={"levels": levels}, headers=headers) as r:
            if r.status != 200:
                raise ConnectionError(f"{url}/v1/view answered {r.status}: {(await r.text())[:200]}")
            view: View = await r.json()
            return view

    return fetch


async def show(plane: Any, stop: asyncio.Event, control_url: str | None = None, levels: int = 3) -> None:
    """The dashboard until `stop` is set. On a terminal: `agenthft dashboard` in a child process
    on this terminal, reading the plane over HTTP (`control_url`, or a door opened here for it)
    with a read-only token made for it; otherwise plain lines from here."""
    import os
    import secrets
    import signal
    import sys

    from agenthft.control import Token
    from agenthft.control import http as control_http

    console = Console(stderr=True)
    if not console.is_terminal:
        await Dashboard(local(plane, levels)).run(stop, console)
        return
    token = "dash_" + secrets.token_urlsafe(16)
    plane.tokens[token] = Token("dashboard", read_only=True)
    site = None
    if control_url is None:
        site, control_url = await control_http.serve(plane)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "dashboard", control_url, "--levels", str(levels),
        stdin=asyncio.subprocess.DEVNULL, env=os.environ | {"AGENTHFT_TOKEN": token},
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)  # it restores the terminal, then exits
            try:
                await asyncio.wait_for(child.wait(), 5)
            except TimeoutError:
                child.kill()
                await child.wait()
        plane.tokens.pop(token, None)
        if site is not None:
            await site.cleanup()
