"""A child started with `dies_with_parent()` ends when its parent is killed (no orphan left
running: a venue process with its simulation takes 40 % of a core)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agenthft.children import dies_with_parent

PARENT = """
import subprocess, sys, time
from agenthft.children import dies_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn={preexec})
print(child.pid, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie (reaped by init soon) is not running
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("preexec", ["dies_with_parent()", "None"], ids=["dies-with-parent", "plain-popen"])
def test_a_child_ends_with_its_killed_parent(preexec: str):
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(preexec=preexec)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        parent.kill()  # SIGKILL: no handler, no finally of the parent's runs
        parent.wait(10)
        deadline = time.monotonic() + (10 if preexec != "None" else 1)
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        if preexec == "None":  # the check can fail: without it the child outlives its parent
            assert alive(child)
        else:
            assert not alive(child)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_elsewhere_it_is_no_preexec_at_all():
    assert (dies_with_parent() is None) == (sys.platform != "linux")
