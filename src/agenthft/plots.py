"""Charts as files (PNG for docs, SVG text to inline in an HTML report), with matplotlib's
non-interactive backend: no screen, no browser needed to draw them."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _figure(width: float = 7.0, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "agenthft"  # stable element ids: same data, same file
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=120)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Any, path: str | Path | None) -> str:
    """Write PNG/SVG by the path's suffix; with no path, return the SVG text."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        if path is None:
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            return buf.getvalue()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fmt = p.suffix.lstrip(".") or "png"
        fig.savefig(p, format=fmt, metadata={"Date": None} if fmt in ("svg", "pdf") else {"Software": None})
        return str(p)
    finally:
        plt.close(fig)


#: how each risk action is drawn (report.py): a denial is a small tick, a halt a red cross
ACTION_STYLE: dict[str, tuple[str, str]] = {
    "deny": ("|", "tab:orange"),
    "throttle": ("|", "tab:olive"),
    "pull": ("v", "tab:purple"),
    "reduce": ("v", "tab:red"),
    "cancel_all": ("X", "tab:red"),
    "halt": ("X", "darkred"),
    "resume": ("^", "tab:green"),
}
MAX_MARKERS = 2000  # per series, in an SVG: each marker is an element of the page


def thin(xs: Sequence[float], limit: int = MAX_MARKERS) -> list[float]:
    """At most `limit` of `xs`, evenly spread (markers only; counts are given elsewhere)."""
    step = max(1, -(-len(xs) // limit))
    return list(xs[::step])


def line_figure(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    zero_line: bool = True,
    vline: tuple[float, str] | None = None,
    markers: bool = True,
    points: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    events: Mapping[str, Sequence[float]] | None = None,
) -> tuple[Any, Any]:
    """One line per series (x, y), optional scatter `points` (e.g. fills), and `events` (label
    -> x, e.g. risk events by action) as markers in a strip along the bottom of the frame, kept
    clear of the lines so that they never hide them; returns the figure and its axes."""
    fig, ax = _figure()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if markers else None, markersize=3, linewidth=1.2, label=name)
    for name, (xs, ys) in (points or {}).items():
        ax.scatter(xs, ys, s=10, label=name, zorder=3)
    if logx:
        ax.set_xscale("log")
    if zero_line:
        ax.axhline(0, color="black", linewidth=0.8)
    if events and any(events.values()):
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.12 * (hi - lo), hi)  # the strip below the data: 10 % of the frame
        strip = ax.get_xaxis_transform()  # x in data, y in the frame's fraction
        for z, (label, xs) in enumerate(sorted(events.items(), key=lambda kv: -len(kv[1]))):  # rare ones on top
            marker, color = ACTION_STYLE.get(label.rsplit(" ", 1)[-1], ("|", "tab:orange"))
            shown = thin(xs)
            ax.plot(shown, [0.045] * len(shown), linestyle="none", marker=marker, markersize=6, color=color,
                    alpha=0.7, transform=strip, label=f"{label} ({len(xs):,})", zorder=3 + z)  # fmt: skip
    if vline is not None:
        _vline(ax, vline[0], vline[1], logx)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if len(series) + len(points or {}) + len(events or {}) > 1:
        ax.legend(fontsize=8)
    return fig, ax


def lines(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    path: str | Path | None = None,
    **options: Any,
) -> str:
    """`line_figure` (same options) written to `path` (PNG/SVG by its suffix), or its SVG text."""
    fig, _ = line_figure(series, title, xlabel, ylabel, **options)
    return _save(fig, path)


def _vline(ax: Any, x: float, label: str, logx: bool) -> None:
    """A dashed vertical line with its label inside the frame, on the side with more room."""
    import math

    ax.axvline(x, color="tab:red", linestyle="--", linewidth=1)
    lo, hi = ax.get_xlim()
    f = (math.log(x / lo) / math.log(hi / lo)) if logx else (x - lo) / (hi - lo)
    right = f > 0.6  # near the right edge: the label goes on the line's left
    box = {"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"}
    ax.annotate(label.strip(), (x, 1.0), xycoords=("data", "axes fraction"), xytext=(-4 if right else 4, -4),
                textcoords="offset points", ha="right" if right else "left", va="top", fontsize=8,
                color="tab:red", bbox=box)  # fmt: skip


def timeline(
    lanes: Mapping[str, Mapping[str, Sequence[float]]],
    title: str,
    xlabel: str,
    path: str | Path | None = None,
    xlim: tuple[float, float] | None = None,
) -> str:
    """Events on a time axis, one named lane per category (`lanes[category][kind] = xs`, e.g.
    risk events by reason, then action), the first to happen on top: the y axis reads the
    categories' names, the markers the kinds (`ACTION_STYLE`)."""
    fig, ax = _figure(height=max(2.2, 1.2 + 0.42 * len(lanes)))
    names = sorted(lanes, key=lambda n: min((min(xs) for xs in lanes[n].values() if xs), default=0.0), reverse=True)
    seen: set[str] = set()
    for y, name in enumerate(names):
        for kind, xs in lanes[name].items():
            marker, color = ACTION_STYLE.get(kind, ("o", "tab:blue"))
            shown = thin(xs)
            ax.plot(shown, [y] * len(shown), linestyle="none", marker=marker, markersize=7, color=color, alpha=0.7,
                    label=None if kind in seen else kind)  # fmt: skip
            seen.add(kind)
    counts = [sum(len(xs) for xs in lanes[n].values()) for n in names]
    ax.set_yticks(range(len(names)), [f"{n} ({c:,})" for n, c in zip(names, counts, strict=True)] or [])
    ax.set_ylim(-0.6, max(len(names), 1) - 0.4)
    if not names:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no risk events", transform=ax.transAxes, ha="center", va="center", color="gray")
    if xlim is not None and xlim[1] > xlim[0]:  # the other plots' span, with matplotlib's own margins
        pad = 0.05 * (xlim[1] - xlim[0])
        ax.set_xlim(xlim[0] - pad, xlim[1] + pad)
    ax.grid(True, axis="y", alpha=0)
    ax.set(title=title, xlabel=xlabel)
    if seen:
        ax.legend(fontsize=8, title="action", title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def bars(
    groups: Mapping[str, Mapping[str, float]],
    title: str,
    ylabel: str,
    path: str | Path | None = None,
) -> str:
    """Grouped bars: `groups[group][bar] = value`."""
    fig, ax = _figure()
    names = list(groups)
    keys = list(dict.fromkeys(k for g in groups.values() for k in g))
    width = 0.8 / max(1, len(keys))
    for i, k in enumerate(keys):
        xs = [n + i * width for n in range(len(names))]
        ax.bar(xs, [groups[g].get(k, 0.0) for g in names], width, label=k)
    ax.set_xticks([n + width * (len(keys) - 1) / 2 for n in range(len(names))], names)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(title=title, ylabel=ylabel)
    ax.legend(fontsize=8)
    return _save(fig, path)


def histogram(values: Sequence[float], title: str, xlabel: str, path: str | Path | None = None, bins: int = 40) -> str:
    fig, ax = _figure()
    if values:
        ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    ax.set(title=title, xlabel=xlabel, ylabel="count")
    return _save(fig, path)
