"""Child processes that end with their parent (a venue or an agent a command started must not
run on, orphaned, when that command is killed)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that has the child sent `sig` when its parent dies (Linux's
    PR_SET_PDEATHSIG, kept across exec); None elsewhere. `prctl` is looked up here, in the parent:
    a lookup in the forked child could wait forever on a loader lock that another thread of the
    parent held at the fork, so the child only calls it. Linux sends it when the *thread* that
    started the child ends: start children from a thread that outlives them (the main one)."""
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec
