"""The agent's core: order lifecycle table, order manager, positions and P&L, reconciliation."""

from agenthft.oms.manager import Anomaly, OrderManager, ReconcileReport, VenueFill, VenueOrder
from agenthft.oms.orders import ClientOrder
from agenthft.oms.positions import Pnl, PositionBook
from agenthft.oms.transitions import TRANSITIONS, OmsEvent, next_status

__all__ = [
    "TRANSITIONS",
    "Anomaly",
    "ClientOrder",
    "OmsEvent",
    "OrderManager",
    "Pnl",
    "PositionBook",
    "ReconcileReport",
    "VenueFill",
    "VenueOrder",
    "next_status",
]
