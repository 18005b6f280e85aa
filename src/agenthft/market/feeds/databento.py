"""placeholder"""

from __future__ import annotations


def events(paths, instruments=None):  # type: ignore[no-untyped-def]
    raise NotImplementedError
