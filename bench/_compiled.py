"""Build a mypyc-compiled copy of agenthft's pure core into a temp dir, for benchmarks that
measure the interpreted and compiled builds of the same source in one run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
COMPILED_MODULES = [
    "agenthft/matching/engine.py",
    "agenthft/matching/orders.py",
    "agenthft/matching/accounts.py",
    "agenthft/model/money.py",
]


def build(modules: list[str] = COMPILED_MODULES) -> Path | None:
    """Compile `modules` with mypyc into a fresh copy of src/; returns that copy's root, or
    None (with the reason on stderr) when mypyc or a C compiler is missing."""
    root = Path(tempfile.mkdtemp(prefix="agenthft-mypyc-"))
    shutil.copytree(SRC / "agenthft", root / "agenthft", ignore=shutil.ignore_patterns("__pycache__"))
    mypyc = Path(sys.executable).parent / "mypyc"
    env = {**os.environ, "MYPYC_OPT_LEVEL": "3"}
    proc = subprocess.run([str(mypyc), *modules], cwd=root, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"mypyc build failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return root


def run_in(root: Path, script: str, *args: str) -> str:
    """Run a bench script with `root` first on sys.path (so the compiled modules load)."""
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=env, check=True)
    return proc.stdout
