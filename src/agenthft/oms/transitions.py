"""The order lifecycle, written down once.

Every (status, event) pair the agent can meet is in TRANSITIONS; anything else is illegal and
refused (the order keeps its status and the move is reported). Out-of-order arrivals that real
venues produce are legal edges: a fill before the ack, an ack after a cancel request, a fill
racing a cancel, a cancel-ack or cancel-reject after the order filled, and a fill for an order
already closed (a fill that was in flight when reconciliation or a venue cancel closed it): a venue
fill is a fact, so it is applied and the OMS reports it as a `late_fill` anomaly with the cause.
"""

from __future__ import annotations

from enum import StrEnum

from agenthft.model import OrderStatus


class OmsEvent(StrEnum):
    ACK = "ack"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"  # the fill that completes the order
    CANCEL_REQUEST = "cancel_request"
    CANCEL_ACK = "cancel_ack"
    CANCEL_REJECT = "cancel_reject"


S, E = OrderStatus, OmsEvent
PN, OP, PF, FI, PC, CA, RJ = (
    S.PENDING_NEW,
    S.OPEN,
    S.PARTIALLY_FILLED,
    S.FILLED,
    S.PENDING_CANCEL,
    S.CANCELLED,
    S.REJECTED,
)

#: A cancel-reject out of PENDING_CANCEL returns to where the order was; the OMS resolves this
#: marker to OPEN or PARTIALLY_FILLED from the order's filled quantity.
RESTORE = S.OPEN

TRANSITIONS: dict[tuple[OrderStatus, OmsEvent], OrderStatus] = {
    (PN, E.ACK): OP,
    (PN, E.REJECT): RJ,
    (PN, E.PARTIAL_FILL): PF,  # fill before ack
    (PN, E.FILL): FI,
    (PN, E.CANCEL_REQUEST): PC,
    (PN, E.CANCEL_ACK): CA,  # IOC remainder or venue-side cancel before we saw the ack
    (OP, E.ACK): OP,  # duplicate ack after reconnect
    (OP, E.PARTIAL_FILL): PF,
    (OP, E.FILL): FI,
    (OP, E.CANCEL_REQUEST): PC,
    (OP, E.CANCEL_ACK): CA,  # venue-initiated: IOC, STP, cancel-on-disconnect, cancel_all
    (PF, E.ACK): PF,  # the ack arrives after a fill
    (PF, E.PARTIAL_FILL): PF,
    (PF, E.FILL): FI,
    (PF, E.CANCEL_REQUEST): PC,
    (PF, E.CANCEL_ACK): CA,
    (PC, E.ACK): PC,
    (PC, E.PARTIAL_FILL): PC,  # a fill racing our cancel
    (PC, E.FILL): FI,
    (PC, E.CANCEL_REQUEST): PC,  # cancel sent twice
    (PC, E.CANCEL_ACK): CA,
    (PC, E.CANCEL_REJECT): RESTORE,
    (PC, E.REJECT): RJ,  # the order itself was rejected while we asked to cancel it
    (FI, E.ACK): FI,
    (FI, E.CANCEL_REQUEST): FI,  # too late: nothing to cancel, nothing sent
    (FI, E.CANCEL_ACK): FI,  # cancel-ack after the final fill
    (FI, E.CANCEL_REJECT): FI,  # "unknown_order": it had filled
    (CA, E.PARTIAL_FILL): CA,  # late fill: in flight when the order was closed (applied, reported)
    (CA, E.FILL): FI,  # late fill that completes the order
    (CA, E.REJECT): RJ,  # reconciliation closed an unacked order whose reject was still on the wire
    (CA, E.ACK): CA,  # an ack overtaken by the cancel-ack of an IOC remainder
    (CA, E.CANCEL_ACK): CA,  # duplicate
    (CA, E.CANCEL_REJECT): CA,
    (CA, E.CANCEL_REQUEST): CA,
    (RJ, E.CANCEL_REJECT): RJ,
    (RJ, E.CANCEL_REQUEST): RJ,
}


def next_status(status: OrderStatus, event: OmsEvent) -> OrderStatus | None:
    """The status after `event`, or None if the move is illegal."""
    return TRANSITIONS.get((status, event))


def table_markdown() -> str:
    """The table as Markdown (docs/oms.md is generated from this)."""
    rows = ["| from | event | to |", "|---|---|---|"]
    for (frm, ev), to in TRANSITIONS.items():
        shown = "open or partially_filled (as before the request)" if (frm, ev) == (PC, E.CANCEL_REJECT) else to
        rows.append(f"| {frm} | {ev} | {shown} |")
    return "\n".join(rows)
