"""What the desk and a strategy process say to each other: the child's orders on its stdin (one
`ChildConfig`: keys and the control token never travel in argv), and its lines on stdout (one
JSON object each): `Ready` once serving, `Failed` if it could not start, `Ended` at the end."""

from __future__ import annotations

from typing import Any

import msgspec

from agenthft.runtime.desk import DeskStrategy, DeskVenue

#: `python -m` this module to run one strategy of a desk (cli/desk_child.py)
CHILD_MODULE = "agenthft.cli.desk_child"


class ChildConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    venues: dict[str, DeskVenue]  # the venues its keys name
    strategy: DeskStrategy
    token: str  # the full control token of its loopback door (the desk holds it)
    journal_dir: str | None = None
    out: str | None = None  # its results under OUT/NAME
    cancel_on_exit: bool = False  # at a normal end (an interrupt cancels everything regardless)


class Ready(msgspec.Struct, frozen=True, tag="ready"):
    url: str  # its control plane's HTTP door on loopback
    pid: int


class Failed(msgspec.Struct, frozen=True, tag="failed"):
    message: str
    code: int  # the exit code the desk ends with (cli/errors.py)


class Ended(msgspec.Struct, frozen=True, tag="ended"):
    summary: dict[str, Any]  # the strategy's run summary, each venue's fill ids beside it
    code: int


Line = Ready | Failed | Ended
