"""The agent's L2 order-book replica: snapshot + absolute-quantity deltas, sequence checks."""

from agenthft.book.l2 import L2Book, Level, OutOfSync, SequenceGap

__all__ = ["L2Book", "Level", "OutOfSync", "SequenceGap"]
