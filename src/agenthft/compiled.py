"""The compiled parts, and whether this install has them.

The data path of a backtest on recorded data (the L2 book, the L2 exchange model and the loop
that applies rows to them: `book/_cbook.pyx`, `connectors/simulated/_cl2x.pyx`,
`backtest/_loop.pyx`) is built by Cython when the package is installed and a C compiler is
there. Without them everything runs on the pure-Python reference (`book.l2`,
`connectors.simulated.l2exchange`, `DataBacktest.run_python`), with the same results, slower;
`NOTE` says which one this install runs (`agenthft --version` prints it).
"""

from __future__ import annotations

try:
    from agenthft.backtest._loop import Loop
    from agenthft.book._cbook import CL2Book
    from agenthft.connectors.simulated._cl2x import CL2Exchange
except ImportError as e:  # not built (no C compiler at install), or built for another Python
    AVAILABLE = False
    NOTE = f"pure Python data path: the compiled one is not built ({e}); reinstall with a C compiler to build it"
else:
    AVAILABLE = True
    NOTE = "compiled data path (Cython)"

__all__ = ["AVAILABLE", "NOTE", "CL2Book", "CL2Exchange", "Loop"]
