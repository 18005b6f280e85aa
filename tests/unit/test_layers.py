"""The core stays a core: no shell, no event loop, no socket, no wall clock (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "agenthft"
CORE = ("model", "book", "matching", "oms", "risk", "signals", "strategies")
SHELLS = ("venue", "connectors", "runtime", "backtest", "control", "cli", "market", "demo", "report")
FORBIDDEN = {"asyncio", "socket", "aiohttp", "picows", "uvloop", "websockets", "subprocess"}


def imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize("package", CORE)
def test_the_core_imports_no_shell_no_loop_and_no_socket(package: str):
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.relative_to(SRC)} imports {name}"
            if name.startswith("agenthft."):
                layer = name.split(".")[1]
                assert layer not in SHELLS, f"{path.relative_to(SRC)} imports the shell {name}"


@pytest.mark.parametrize("package", CORE)
def test_the_core_never_reads_the_wall_clock(package: str):
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "time":
                assert node.attr not in ("time", "time_ns", "monotonic", "perf_counter"), (
                    f"{path.relative_to(SRC)}:{node.lineno} reads the clock (time comes in as an int)"
                )
