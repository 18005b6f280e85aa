"""One line per user error, one documented exit code per kind of outcome, the same for every
command: `explain` maps what went wrong to its code, `start_failure` says why a command could
not work with a venue (run, desk, record), and the README's table is generated from `Exit` and
`MEANING`.

Light on purpose (imported before anything heavy, see `agenthft.cli`): the classes of aiohttp,
picows and the REST client are looked up only when their modules are already loaded, since an
exception cannot come from a module that was never imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio


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
    Exit.USAGE: "usage, configuration or file error, any command (bad flag, unknown market or strategy, "
    "a key the venue refuses, unreadable file)",
    Exit.HALTED: "`run`, `desk` ended halted by risk (the halt is printed when it happens; `first_trip` in the "
    "summary)",
    Exit.VENUE_UNREACHABLE: "the venue could not be reached or did not answer like one, any command (wrong URL "
    "or port, venue gone)",
    Exit.STRATEGY_DIED: "`desk`: a strategy's process died while the desk ran (its orders were cancelled at the "
    "venue; the others ran on)",
    Exit.INTERRUPTED: "Ctrl-C (SIGINT), any command at any moment, start-up included; an agent or a venue "
    "cleans up first (cancel-all, summary, files; a desk cancels every order). SIGTERM stops `run`, `desk`, "
    "`venue`, `record` with their own code (0 when all went well)",
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


#: which code a command that runs agents ends with when several apply, first first
PRECEDENCE = (
    Exit.INTERRUPTED,
    Exit.STRATEGY_DIED,
    Exit.HALTED,
    Exit.VENUE_UNREACHABLE,
    Exit.USAGE,
    Exit.CHECK_FAILED,
)


def worst(codes: Iterable[Exit | int]) -> Exit:
    """One code for many outcomes (agents, legs, a desk's strategies), by `PRECEDENCE`: Ctrl-C,
    then a dead strategy, a halt by risk, a venue gone at exit; else OK."""
    seen = {Exit(c) for c in codes}
    return next((c for c in PRECEDENCE if c in seen), Exit.OK)


def end_codes(interrupted: bool, halted: bool, venue_gone: bool) -> set[Exit]:
    """What applies at the end of an agent's run (`worst` picks the code)."""
    return {c for c, on in ((Exit.INTERRUPTED, interrupted), (Exit.HALTED, halted),
                            (Exit.VENUE_UNREACHABLE, venue_gone)) if on}  # fmt: skip


def stop_on_signals(stop: asyncio.Event) -> Callable[[], bool]:
    """SIGINT and SIGTERM set `stop` (the running loop's handlers: the command then cleans up,
    cancel-all, summary, files); the function returned says whether Ctrl-C (SIGINT) was one of
    them, for the command to exit `Exit.INTERRUPTED` after its cleanup."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    seen: set[int] = set()

    def on(sig: int) -> None:
        seen.add(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on, sig)
    return lambda: signal.SIGINT in seen


def _loaded(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of `module` if it is imported (else none can have been raised)."""
    m = sys.modules.get(module)
    return tuple(getattr(m, n) for n in names if m is not None and hasattr(m, n))


def venue_failure(e: BaseException, where: str = "the venue") -> CliError | None:
    """What an exception met while talking to a venue means, for every command: a key the venue
    refuses is a usage error (2), a venue that is not there or does not answer like one is 4.
    The venue ports raise `VenueAuthError` (a PermissionError) and `VenueUnreachable` (a
    ConnectionError) with the reason in their words. None: not a venue failure."""
    if isinstance(e, PermissionError) and e.errno is None:  # a file's PermissionError has an errno
        return CliError(Exit.USAGE, f"{e} (check the key)")
    for rest_error in _loaded("agenthft.connectors.agenthft.rest", "RestError"):
        if isinstance(e, rest_error):  # the REST client used on its own (record)
            status = getattr(e, "status", 0)
            if status in (401, 403):
                return CliError(Exit.USAGE, f"the venue refused the API key ({status}): {e} (check the key)")
            return CliError(Exit.VENUE_UNREACHABLE, f"the venue answered {e}")
    if isinstance(e, ConnectionError):
        return CliError(Exit.VENUE_UNREACHABLE, str(e) or f"no connection to {where}")
    if isinstance(e, (TimeoutError, *_loaded("aiohttp", "ClientError"), *_loaded("picows", "WSError"))):
        return CliError(Exit.VENUE_UNREACHABLE, f"no answer from {where} ({type(e).__name__}: {str(e) or 'timed out'})")
    return None


def start_failure(e: Exception, where: str) -> Exception:
    """Why a command could not start working with the venue at `where` (an agent of `run` or
    `desk`, `record`), as one line: a CliError, or `e` itself when it is none of the known
    failures."""
    failure = venue_failure(e, where)
    if failure is not None:
        return failure
    if isinstance(e, ValueError):  # an unknown market, a bad parameter
        return CliError(Exit.USAGE, str(e))
    if isinstance(e, OSError):
        return CliError(Exit.VENUE_UNREACHABLE, f"no answer from {where} ({type(e).__name__}: {e})")
    return e


def explain(e: Exception) -> tuple[Exit, str]:
    """The exit code and the line for an exception a command let through: the one mapping
    every command shares."""
    if isinstance(e, CliError):
        return e.code, str(e)
    failure = venue_failure(e)
    if failure is not None:
        return failure.code, str(failure)
    if isinstance(e, FileNotFoundError):
        return Exit.USAGE, f"no such file: {e.filename}"
    if isinstance(e, (ValueError, OSError)):  # the strategy loader's StrategyError is a ValueError
        return Exit.USAGE, str(e) or type(e).__name__
    return Exit.USAGE, f"{type(e).__name__}: {e} (run with --debug for the traceback)"
