"""Ctrl-C on the command line: wherever it lands, the command ends interrupted (exit 130), with one
line and no traceback.

Python raises KeyboardInterrupt at the main thread's next step, but several places lose it: code
whose exceptions Python ignores (os.fork's hooks, finalizers, weakref callbacks: printed as
"Exception ignored"), C code that clears any error (seen: an extension module's init during an
import), Python's own start-up. So a Ctrl-C is counted when raised and watched until the command
takes it; one that was lost (the main thread runs on, handling no exception) is delivered again.
While os.fork runs its hooks a Ctrl-C waits: raised in logging's hook, it left the module lock held.

This module is imported first by the console script and imports nothing heavy: its handler is in
place before the commands' modules load.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # builtin; `signal` imports enum (3 ms)
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: Ctrl-Cs raised and not yet taken by the command
_raised: list[int] = []
#: inside `main`: a lost Ctrl-C is delivered again
_armed: list[bool] = []
_watching: list[bool] = []
#: set while os.fork runs its hooks: a Ctrl-C then is counted only, delivered after them
_forking: list[int] = []
_fork_guarded: list[bool] = []

#: how often the watcher looks at the main thread (a lost Ctrl-C is delivered again within this)
WATCH_S = 0.05


def handler(signum: int, frame: object) -> None:
    """The SIGINT handler: counts the Ctrl-C and raises it, or keeps it while os.fork runs hooks."""
    _raised.append(signum)
    if _forking:
        return
    _watch()
    raise KeyboardInterrupt


def pending() -> bool:
    """A Ctrl-C was raised that the command has not taken (it may have been lost)."""
    return bool(_raised)


def taken() -> None:
    """The command ends interrupted (or ends): nothing is left to deliver."""
    _raised.clear()


def arm() -> tuple[object, Callable[[Any], object]]:
    """Our handler in place for one command, lost Ctrl-Cs delivered again; what `disarm` restores."""
    previous = _signal.signal(_signal.SIGINT, handler)
    unraisable = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(unraisable)
    _guard_forks()
    taken()
    _armed.append(True)
    return previous, unraisable


def disarm(state: tuple[object, Callable[[Any], object]], restore_handler: bool) -> None:
    previous, unraisable = state
    _armed.clear()
    taken()
    sys.unraisablehook = unraisable
    if restore_handler and previous is not None:
        _signal.signal(_signal.SIGINT, previous)


def ignore() -> None:
    """Ctrl-C changes nothing from here on (the command is ending)."""
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)


def install_over_pythons() -> None:
    """At import: ours over Python's own handler (it raises KeyboardInterrupt just the same), so a
    Ctrl-C before `main` is counted. Nothing else's is replaced; not from another thread."""
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        try:  # noqa: SIM105  (contextlib's import costs 3 ms of the unguarded start-up)
            _signal.signal(_signal.SIGINT, handler)
        except ValueError:  # not the main thread
            pass


def _watch() -> None:
    if not _armed or _watching:
        return
    import _thread

    _watching.append(True)
    try:
        _thread.start_new_thread(_watcher, (_main_ident(),))
    except RuntimeError:  # no new threads at interpreter shutdown: nothing left to stop
        _watching.clear()


def _watcher(main: int) -> None:
    import _thread
    import time

    try:
        while _raised and _armed:
            time.sleep(WATCH_S)
            if not (_raised and _armed) or _signal.getsignal(_signal.SIGINT) is not handler:
                return  # taken, or a command's own handler took over (it stops the command)
            if _forking or _handling(main) or _inside_us(main):
                continue  # on its way (an except or finally runs), or not yet deliverable
            _thread.interrupt_main()  # lost: the main thread runs on as if nothing happened
    finally:
        _watching.clear()


def _handling(main: int) -> bool:
    exc: object = sys._current_exceptions().get(main)
    if isinstance(exc, tuple):  # Python 3.11: exc_info
        return exc[0] is not None
    return exc is not None


def _inside_us(main: int) -> bool:
    """The main thread runs this module's code (the unraisable hook, a fork hook): delivered
    there, the Ctrl-C would be raised where it is ignored again."""
    frame = sys._current_frames().get(main)
    while frame is not None:
        if frame.f_code.co_filename == __file__:
            return True
        frame = frame.f_back
    return False


def _main_ident() -> int:
    import threading

    return threading.main_thread().ident or 0


def _quiet_unraisable(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """Our Ctrl-C where Python ignores exceptions is not printed ("Exception ignored" and a
    traceback): the watcher delivers it again."""

    def hook(unraisable: Any) -> object:
        if unraisable.exc_type is KeyboardInterrupt and _raised:
            return None
        return previous(unraisable)

    return hook


def _guard_forks() -> None:
    """Once per process, after logging's own hooks: os.fork calls `before` hooks in the reverse
    order of registration and the others in order, so ours bracket logging's."""
    if _fork_guarded:
        return
    import logging  # noqa: F401  (its at-fork hooks first)
    import os

    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork_child)
    _fork_guarded.append(True)


def _before_fork() -> None:
    _forking.append(1)


def _after_fork() -> None:
    _forking.clear()
    if _raised:  # a Ctrl-C came while forking: the watcher delivers it once these hooks are done
        _watch()


def _after_fork_child() -> None:
    _forking.clear()
    _watching.clear()  # the parent's watcher thread is not in the child
    taken()  # the parent's Ctrl-C is the parent's


install_over_pythons()
