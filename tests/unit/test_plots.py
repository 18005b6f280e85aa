"""Reports readable at a glance: risk events named, markers that never hide the P&L, labels
inside the frame, money in JSON rounded to the display precision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agenthft.plots import _save, line_figure


def results_with_risk_events(d: Path) -> Path:
    """A results folder by hand: P&L falling through a day's loss limit, then halted."""
    d.mkdir(parents=True)
    s = 1_000_000_000
    equity = [{"t_ns": i * s // 10, "equity": -0.01 * i, "fees": 0.0, "position_lots:X": 1, "mark:X": 100.0}
              for i in range(300)]  # fmt: skip
    risk = [{"t_ns": t * s // 10, "reason": reason, "action": action, "value": "", "limit": "", "market": "X"}
            for t, reason, action in [(10, "position_limit", "deny"), (11, "position_limit", "deny"),
                                      (12, "position_limit", "deny"), (150, "daily_loss", "cancel_all")]
            + [(t, "halted", "deny") for t in range(151, 300)]]  # fmt: skip
    for name, rows in (("equity", equity), ("risk", risk), ("events", [])):
        pq.write_table(pa.Table.from_pylist(rows) if rows else pa.table({}), d / f"{name}.parquet")
    (d / "summary.json").write_text(json.dumps({"strategy": "s", "scenario": "x", "currency": "USDC"}))
    return d


def figure(page: str, pid: str) -> str:
    m = re.search(rf'<figure class="plot" id="{pid}">(.*?)</figure>', page, flags=re.S)
    assert m, pid
    return m.group(1)


def texts(svg: str) -> list[str]:
    """The text the SVG draws (matplotlib writes each string as a comment beside its glyphs)."""
    return re.findall(r"<!-- (.*?) -->", svg)


def test_the_risk_timeline_names_each_reason_with_its_count_and_no_numeric_codes(tmp_path: Path):
    from agenthft.report import build_report

    page = build_report(results_with_risk_events(tmp_path / "run")).read_text()
    labels = texts(figure(page, "risk"))
    assert {"position_limit (3)", "daily_loss (1)", "halted (149)"} <= set(labels)
    assert {"deny", "cancel_all"} <= set(labels)  # the actions' legend
    assert not {"0.0", "0.2", "0.5", "1.0", "2.0"} & set(labels), "no numeric codes on the y axis"
    pnl = texts(figure(page, "pnl"))
    assert {"risk: deny (152)", "risk: cancel_all (1)", "USDC"} <= set(pnl)


def test_risk_events_on_the_pnl_panel_sit_below_the_pnl_never_over_it():
    ts = [i / 10 for i in range(300)]
    pnl = [((i % 37) - 18) / 10 for i in range(300)]  # up and down across the whole frame
    fig, ax = line_figure(
        {"P&L": (ts, pnl)}, "P&L", "s", "USDC", markers=False, events={"risk: deny": ts[::3], "risk: halt": [20.0]}
    )
    to_frame = ax.transAxes.inverted()
    lowest = min(to_frame.transform(ax.transData.transform((x, y)))[1] for x, y in zip(ts, pnl, strict=True))
    strip = [ln for ln in ax.get_lines() if ln.get_label().startswith("risk:")]
    assert len(strip) == 2
    for ln in strip:
        assert ln.get_linestyle() == "None"  # markers, not lines across the panel
        frame_y = {float(y) for y in ln.get_ydata()}
        assert max(frame_y) + 0.03 < lowest, "a marker would sit on the P&L"
    _save(fig, None)


@pytest.mark.parametrize(("x", "logx"), [(1.0, True), (0.01, True), (19.0, False), (0.5, False)])
def test_the_vertical_lines_label_stays_inside_the_frame(x: float, logx: bool):
    xs = [0.005, 0.02, 0.1, 1.0, 2.0] if logx else [0.0, 5.0, 10.0, 20.0]
    fig, ax = line_figure({"p": (xs, [5.0] * len(xs))}, "t", "x", "y", logx=logx, vline=(x, " latency = lag"))
    fig.tight_layout()
    fig.canvas.draw()
    (label,) = [t for t in ax.texts if t.get_text() == "latency = lag"]
    box, frame = label.get_window_extent(), ax.get_window_extent()
    assert frame.x0 < box.x0 and box.x1 < frame.x1 and frame.y0 < box.y0 and box.y1 < frame.y1 - 1  # off the border
    _save(fig, None)


MONEY = {"pnl", "pnl_after_fees", "realized", "unrealized", "fees", "funding", "net", "max_drawdown", "equity"}


def money_floats(doc: object, key: str = "") -> list[tuple[str, float]]:
    if isinstance(doc, dict):
        return [m for k, v in doc.items() for m in money_floats(v, str(k))]
    if isinstance(doc, list):
        return [m for v in doc for m in money_floats(v, key)]
    return [(key, doc)] if key in MONEY and isinstance(doc, float) else []


def test_money_in_the_jsons_a_user_reads_has_at_most_8_decimals(tmp_path: Path, capsys):
    from agenthft.cli import main

    assert main(["backtest", "market-maker", "--sim", "manipulated", "--duration", "5", "--json"]) == 0
    docs = [json.loads(capsys.readouterr().out)]
    assert main(["sweep", "quoter", "--sim", "calm", "--duration", "3", "--grid", "half_spread=1,2", "--jobs", "1",
                 "--json", "--out", str(tmp_path / "s.parquet")]) == 0  # fmt: skip
    docs.append(json.loads(capsys.readouterr().out))
    assert main(["experiment", "spoof-fading", "--seeds", "1", "--seconds", "3", "--out", str(tmp_path), "--json"]) == 0
    docs.append(json.loads(capsys.readouterr().out))
    docs.append(json.loads((tmp_path / "spoof_fading.json").read_text()))
    found = [m for doc in docs for m in money_floats(doc)]
    assert len(found) > 20
    assert [(k, v) for k, v in found if round(v, 8) != v] == []
