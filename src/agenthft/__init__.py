"""agenthft: a fast, deterministic trading loop for AI agents, with risk controls in code."""

__version__ = "0.1.0"
