"""docs/writing-a-strategy.md documents every field a strategy reads of its orders and signals."""

from __future__ import annotations

from pathlib import Path

from agenthft.oms import ClientOrder
from agenthft.signals import SignalEvent

DOC = (Path(__file__).resolve().parents[3] / "docs" / "writing-a-strategy.md").read_text()


def documented(table: str) -> set[str]:
    inside = DOC.split(f"<!-- {table}:begin -->")[1].split(f"<!-- {table}:end -->")[0]
    names: set[str] = set()
    for line in (x for x in inside.splitlines() if x.startswith("| `")):
        cell = line.split("|")[1]
        names |= {part.strip().strip("`") for part in cell.split("/")}
    return names


def test_every_client_order_field_is_in_the_guide():
    fields = set(ClientOrder.__slots__) | {"remaining", "live"}
    assert documented("order-fields") == fields


def test_every_signal_event_field_is_in_the_guide():
    assert documented("signal-fields") == set(SignalEvent.__struct_fields__)
