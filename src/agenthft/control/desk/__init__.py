"""A desk of processes: each strategy in its own process (its own event loop, venue sessions,
journal and risk), one control plane in the desk's process over them (`DeskPlane`), which
reads each strategy's typed snapshot over a loopback door and forwards actions to it, watches
each process, and cancels a dead strategy's orders at the venue (`sweep`)."""

from agenthft.control.desk.plane import DeskPlane
from agenthft.control.desk.procs import Desk, StartFailed, StrategyProcess

__all__ = ["Desk", "DeskPlane", "StartFailed", "StrategyProcess"]
