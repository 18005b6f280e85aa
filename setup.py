"""Builds the compiled data path (Cython) when it can; without a C compiler (or Cython) the
package installs anyway and runs the pure-Python reference (`agenthft.compiled.NOTE` says so)."""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ["agenthft.book._cbook", "agenthft.connectors.simulated._cl2x", "agenthft.backtest._loop"]


class OptionalBuildExt(build_ext):
    """A failed compile is a warning, not a failed install: the pure-Python path stays."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:  # no compiler, no headers
            print(f"agenthft: the compiled data path was not built ({e}); pure Python it is", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:
            print(f"agenthft: {ext.name} was not built ({e}); pure Python it is", file=sys.stderr)


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError as e:
        print(f"agenthft: Cython is not available ({e}); pure Python data path", file=sys.stderr)
        return []
    exts = [Extension(m, [f"src/{m.replace('.', '/')}.pyx"], extra_compile_args=["-O3"]) for m in MODULES]
    try:
        return list(cythonize(exts, include_path=["src"], compiler_directives={"language_level": "3"}, quiet=True))
    except Exception as e:
        print(f"agenthft: cythonize failed ({e}); pure Python data path", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
