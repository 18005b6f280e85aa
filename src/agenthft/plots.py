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


def lines(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    path: str | Path | None = None,
    logx: bool = False,
    zero_line: bool = True,
    vline: tuple[float, str] | None = None,
    markers: bool = True,
    points: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    events: Sequence[float] = (),
) -> str:
    """One line per series (x, y), optional scatter `points` (e.g. fills) and vertical marks at
    `events` (e.g. risk events); returns the file written or the SVG text."""
    fig, ax = _figure()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if markers else None, markersize=3, linewidth=1.2, label=name)
    for name, (xs, ys) in (points or {}).items():
        ax.scatter(xs, ys, s=10, label=name, zorder=3)
    for x in events:
        ax.axvline(x, color="tab:orange", alpha=0.4, linewidth=0.8)
    if logx:
        ax.set_xscale("log")
    if zero_line:
        ax.axhline(0, color="black", linewidth=0.8)
    if vline is not None:
        ax.axvline(vline[0], color="tab:red", linestyle="--", linewidth=1)
        ax.annotate(vline[1], (vline[0], ax.get_ylim()[1]), ha="left", va="top", fontsize=8, color="tab:red")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if len(series) + len(points or {}) > 1:
        ax.legend(fontsize=8)
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
