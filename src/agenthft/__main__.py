"""`python -m agenthft`: the same as the `agenthft` console script."""

from agenthft.cli import entry

entry()
