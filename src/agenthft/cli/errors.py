"""One line per user error, one documented exit code per kind of outcome."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """`agenthft` exit codes (the README's table is generated from this)."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    HALTED = 3
    VENUE_UNREACHABLE = 4
    STRATEGY_DIED = 5
    INTERRUPTED = 130


MEANING: dict[Exit, str] = {
    Exit.OK: "success",
    Exit.CHECK_FAILED: "a verification failed (`replay`, `demo`: a book check, journal != venue)",
    Exit.USAGE: "usage, configuration or file error (bad flag, unknown market or strategy, bad key, unreadable file)",
    Exit.HALTED: "`run` ended halted by risk (the halt is printed when it happens; `first_trip` in the summary)",
    Exit.VENUE_UNREACHABLE: "the venue could not be reached or did not answer like one (wrong URL or port, venue gone)",
    Exit.STRATEGY_DIED: "`desk`: a strategy's process died while the desk ran (its orders were cancelled at the "
    "venue; the others ran on)",
    Exit.INTERRUPTED: "interrupted before it could finish (Ctrl-C during start-up; `desk`: Ctrl-C, after every "
    "order was cancelled)",
}


class CliError(Exception):
    """A user-facing failure: printed as one line (`agenthft CMD: message`), then exit `code`."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code


def exit_codes_markdown() -> str:
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {int(code)} | {MEANING[code]} |" for code in Exit]
    return "\n".join(rows)
